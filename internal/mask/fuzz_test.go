package mask

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzMask checks that any input masks without panicking, that masking is
// bounded in size.
func FuzzMask(f *testing.F) {
	for _, s := range []string{"", "a", "1.2.3.4:5", "\x1b[", "\x1b]0;t", "::", "[::1]:8", "0x", "/", "~/a", "<", "<A", "I1203 1", "Jan  2 15:04:05", "2006-01-02T", "\xff\xfe\xfd"} {
		f.Add([]byte(s))
	}
	f.Add([]byte(strings.Repeat("x1 10.0.0.1:80 /a/b 2024-01-02T03:04:05Z ", 1<<15))) // ~1 MiB line
	m := Default()
	f.Fuzz(func(t *testing.T, line []byte) {
		out := m.Mask(nil, line)
		if len(out) > 16*len(line)+16 {
			t.Fatalf("output grew too much: %d -> %d", len(line), len(out))
		}
		if bytes.IndexByte(line, 0x1b) < 0 && len(out) == 0 && len(line) > 0 {
			t.Fatalf("non-empty line %q masked to nothing", line)
		}
	})
}
