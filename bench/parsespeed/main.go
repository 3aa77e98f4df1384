// Command parsespeed is the baseline of the template-mining speed benchmark
// (issue 3): it reads a file and splits every line on white space, nothing
// else, and prints lines/s; with -gen it writes the benchmark corpus. See
// bench/parse-speed.sh, which compares it with `lognats parse --quiet`.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "parsespeed:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("parsespeed", flag.ContinueOnError)
	gen := fs.String("gen", "", "write the corpus to this file: every *.log under -src, repeated to -lines lines")
	src := fs.String("src", "", "folder searched recursively for *_2k.log files (with -gen)")
	lines := fs.Int("lines", 1_000_000, "corpus size in lines (with -gen)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *gen != "" {
		return generate(*gen, *src, *lines)
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("usage: parsespeed FILE | parsespeed -gen OUT -src DIR")
	}
	n, fields, secs, err := baseline(fs.Arg(0))
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "lines=%d fields=%d seconds=%.3f lines/s=%.0f\n", n, fields, secs, float64(n)/secs)
	return err
}

// baseline reads path line by line (the buffer parse uses) and splits each
// line on ASCII white space, counting fields.
func baseline(path string) (lines, fields int64, secs float64, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("open corpus: %w", err)
	}
	defer f.Close()
	start := time.Now()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 256<<10), 64<<20)
	var spans [][2]int
	for sc.Scan() {
		spans = splitFields(spans[:0], sc.Bytes())
		fields += int64(len(spans))
		lines++
	}
	if err := sc.Err(); err != nil {
		return 0, 0, 0, fmt.Errorf("read corpus: %w", err)
	}
	return lines, fields, time.Since(start).Seconds(), nil
}

// splitFields appends the [start,end) spans of the white-space separated
// fields of line to dst.
func splitFields(dst [][2]int, line []byte) [][2]int {
	start := -1
	for i, c := range line {
		space := c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'
		switch {
		case space && start >= 0:
			dst = append(dst, [2]int{start, i})
			start = -1
		case !space && start < 0:
			start = i
		}
	}
	if start >= 0 {
		dst = append(dst, [2]int{start, len(line)})
	}
	return dst
}

// generate concatenates the Loghub-2k logs under src and repeats them until
// the corpus has n lines.
func generate(out, src string, n int) error {
	var files []string
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && filepath.Ext(p) == ".log" {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("find logs: %w", err)
	}
	sort.Strings(files)
	var all [][]byte
	for _, p := range files {
		f, err := os.Open(p)
		if err != nil {
			return fmt.Errorf("read log: %w", err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
		for sc.Scan() {
			all = append(all, append([]byte(nil), sc.Bytes()...))
		}
		f.Close()
		if err := sc.Err(); err != nil {
			return fmt.Errorf("read %s: %w", p, err)
		}
	}
	if len(all) == 0 {
		return fmt.Errorf("no *.log lines under %s", src)
	}
	f, err := os.Create(out)
	if err != nil {
		return fmt.Errorf("create corpus: %w", err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	for i := range n {
		w.Write(all[i%len(all)])
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("write corpus: %w", err)
	}
	return f.Close()
}
