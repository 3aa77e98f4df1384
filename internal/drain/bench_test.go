package drain

import (
	"fmt"
	"testing"
)

func benchLines() []string {
	var ls []string
	for i := range 64 {
		ls = append(ls,
			fmt.Sprintf("Receiving block <ID> src: /<IP> dest: /<IP> tag%d", i%8),
			"PacketResponder <NUM> for block <ID> terminating",
			fmt.Sprintf("Failed password for user%d from <IP> port <NUM> ssh2", i%5),
			"pam_unix(sshd:auth): authentication failure; logname= uid=<NUM> euid=<NUM> tty=ssh ruser= rhost=<IP>",
		)
	}
	return ls
}

// warmModel returns a model that has mined lines.
func warmModel(lines []string) *Drain {
	d, _ := New(DefaultConfig())
	for _, l := range lines {
		d.Add(l)
	}
	return d
}

// BenchmarkAdd reports ns and allocations per mined line on a warm model.
func BenchmarkAdd(b *testing.B) {
	lines := benchLines()
	d := warmModel(lines)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		d.Add(lines[i%len(lines)])
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/line")
}

// BenchmarkMatch reports ns and allocations per matched line.
func BenchmarkMatch(b *testing.B) {
	lines := benchLines()
	d := warmModel(lines)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, ok := d.Match(lines[i%len(lines)], SearchFallback); !ok {
			b.Fatal("no match")
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/line")
}
