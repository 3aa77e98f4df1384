package mask

import (
	"strings"
	"testing"
)

func TestMaskTable(t *testing.T) {
	m := Default()
	tests := []struct{ in, want string }{
		{"", ""},
		{"hello world", "hello world"},
		{"PacketResponder 1 for block blk_38865049064139660 terminating", "PacketResponder <NUM> for block <ID> terminating"},
		{"blk_-6952295868487656571 and blk_123", "<ID> and <ID>"},
		{"Receiving block src: /10.250.19.102:54106 dest: /10.250.19.102:50010", "Receiving block src: /<IP> dest: /<IP>"},
		{"rhost=218.188.2.4  user=root uid=0", "rhost=<IP>  user=root uid=<NUM>"},
		{"net 10.0.0.0/8 and ::1 and [fe80::1%eth0]:443 and 2001:db8::ff00:42:8329", "net <IP> and <IP> and <IP> and <IP>"},
		{"I1203 12:00:00.123456    1 controller.go:123] synced", "<TS>    <NUM> <LOC>] synced"},
		{"at 2023-01-02T15:04:05.123Z done", "at <TS> done"},
		{"at 2023-01-02 15:04:05,123 done", "at <TS> done"},
		{"Jun 14 15:16:01 combo sshd", "<TS> combo sshd"},
		{"Sun Dec 04 04:47:44 2005 x", "<TS> x"},
		{"17/06/09 20:10:40 INFO", "<TS> INFO"},
		{"took 1.5s and 300ms and 1h2m3s", "took <DURATION> and <DURATION> and <DURATION>"},
		{"see https://example.com/a?b=1, ok", "see <URL>, ok"},
		{"mail bob.smith@example.org now", "mail <EMAIL> now"},
		{"pod 123e4567-e89b-12d3-a456-426614174000 gone", "pod <UUID> gone"},
		{"addr 0x7fff5fbff8c8 and e9746973ac574c6b8a9e8857f56a7608", "addr <HEX> and <HEX>"},
		{"open /var/lib/nova/instances/_base/a489 failed", "open <PATH> failed"},
		{"\"GET /v2/54fadb/servers/detail HTTP/1.1\" status: 200", "\"GET <PATH> HTTP/<NUM>\" status: <NUM>"},
		{"C:\\Windows\\System32\\x.dll loaded", "<PATH> loaded"},
		{"temp -5 and +3 and 1.2.3", "temp <NUM> and <NUM> and <NUM>"},
		{"node-D1 core.12345 ssh2", "<ID> <ID> <ID>"},
		{"\x1b[31mred\x1b[0m text", "red text"},
		{"already <IP> and <*> and <:NUM:>", "already <IP> and <*> and <:NUM:>"},
		{"a\xff\xfe 12 \xc3", "a\xff\xfe <NUM> \xc3"},
		{"12:34 is not a time", "<NUM>:<NUM> is not a time"},
		{"deadbeef stays", "deadbeef stays"},
	}
	for _, tc := range tests {
		if got := m.MaskString(tc.in); got != tc.want {
			t.Errorf("Mask(%q)\n got %q\nwant %q", tc.in, got, tc.want)
		}
	}
}

func TestUserRulesAndDisable(t *testing.T) {
	m, err := New(Config{Disable: []string{"PATH"}, Rules: []Rule{{Pattern: `pod-[a-z]+`, Name: "POD"}}})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := m.MaskString("pod-abc read /etc/hosts"), "<POD> read /etc/hosts"; got != want {
		t.Errorf("got %q want %q", got, want)
	}
	if _, err := New(Config{Disable: []string{"NOPE"}}); err == nil {
		t.Error("unknown disable name: want error")
	}
	if _, err := New(Config{Rules: []Rule{{Pattern: "(", Name: "X"}}}); err == nil {
		t.Error("bad pattern: want error")
	}
	if _, err := New(Config{Rules: []Rule{{Pattern: "x", Name: "<>"}}}); err == nil {
		t.Error("empty name: want error")
	}
}

func TestMaskIdempotent(t *testing.T) {
	m := Default()
	for _, in := range []string{"a 1 b 10.0.0.1:80 /x/y", "blk_-1 2023-01-02", "I1203 12:00:00.1 x.go:1] y"} {
		once := m.MaskString(in)
		if twice := m.MaskString(once); twice != once {
			t.Errorf("not idempotent: %q -> %q -> %q", in, once, twice)
		}
	}
}

func TestMaskLongLineNoAlloc(t *testing.T) {
	m := Default()
	line := []byte(strings.Repeat("abc 123 10.0.0.1 ", 1<<16)) // ~1 MiB
	buf := make([]byte, 0, 2*len(line))
	allocs := testing.AllocsPerRun(3, func() { buf = m.Mask(buf[:0], line) })
	if allocs != 0 {
		t.Errorf("Mask allocs = %v, want 0", allocs)
	}
	if !strings.HasPrefix(string(buf), "abc <NUM> <IP> abc") {
		t.Errorf("unexpected output prefix %q", buf[:40])
	}
}
