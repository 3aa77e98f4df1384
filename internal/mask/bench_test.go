package mask

import "testing"

var benchLines = [][]byte{
	[]byte("PacketResponder 1 for block blk_38865049064139660 terminating"),
	[]byte("Receiving block blk_-1608999687919862906 src: /10.250.19.102:54106 dest: /10.250.19.102:50010"),
	[]byte("I1203 12:00:00.123456       1 controller.go:123] Successfully synced pod default/nginx-7c5ddbdf54-x2x4z in 1.5s"),
	[]byte("pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=218.188.2.4  user=root"),
	[]byte("10.11.10.1 \"GET /v2/54fadb412c4e40cdbaed9335e4c35a9e/servers/detail HTTP/1.1\" status: 200 len: 1893 time: 0.2477829"),
}

// BenchmarkMask reports ns and allocations per masked line.
func BenchmarkMask(b *testing.B) {
	m := Default()
	buf := make([]byte, 0, 512)
	var bytes int64
	for _, l := range benchLines {
		bytes += int64(len(l))
	}
	b.SetBytes(bytes / int64(len(benchLines)))
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		buf = m.Mask(buf[:0], benchLines[i%len(benchLines)])
	}
}
