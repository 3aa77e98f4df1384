package parseeval

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Dataset is one benchmark dataset: the Content of every line and its
// ground-truth EventTemplate.
type Dataset struct {
	Name      string
	Contents  []string
	Templates []string
}

// ReadStructured reads a LogPAI structured CSV (a header row naming Content
// and EventTemplate columns, among others).
func ReadStructured(r io.Reader) (contents, templates []string, err error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	header, err := cr.Read()
	if err != nil {
		return nil, nil, fmt.Errorf("read structured csv header: %w", err)
	}
	ci, ti := -1, -1
	for i, h := range header {
		switch strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")) {
		case "Content":
			ci = i
		case "EventTemplate":
			ti = i
		}
	}
	if ci < 0 || ti < 0 {
		return nil, nil, fmt.Errorf("read structured csv: header %q lacks Content or EventTemplate: %w", header, ErrInput)
	}
	for row := 2; ; row++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("read structured csv row %d: %w", row, err)
		}
		if len(rec) <= max(ci, ti) {
			return nil, nil, fmt.Errorf("read structured csv row %d: %d fields: %w", row, len(rec), ErrInput)
		}
		contents = append(contents, rec[ci])
		templates = append(templates, rec[ti])
	}
	return contents, templates, nil
}

// StructuredFile returns the ground-truth file of dataset name under dir:
// dir/name/name_2k.log_structured.csv, or the _structured_corrected.csv
// version when corrected is set.
func StructuredFile(dir, name string, corrected bool) string {
	suffix := "_2k.log_structured.csv"
	if corrected {
		suffix = "_2k.log_structured_corrected.csv"
	}
	return filepath.Join(dir, name, name+suffix)
}

// LoadDataset reads dataset name from dir (see StructuredFile).
func LoadDataset(dir, name string, corrected bool) (Dataset, error) {
	path := StructuredFile(dir, name, corrected)
	f, err := os.Open(path)
	if err != nil {
		return Dataset{}, fmt.Errorf("load dataset %s: %w", name, err)
	}
	defer f.Close()
	c, t, err := ReadStructured(f)
	if err != nil {
		return Dataset{}, fmt.Errorf("load dataset %s from %s: %w", name, path, err)
	}
	return Dataset{Name: name, Contents: c, Templates: t}, nil
}

// Datasets lists, sorted, the dataset folders under dir that hold the
// ground-truth file StructuredFile names.
func Datasets(dir string, corrected bool) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("list datasets: %w", err)
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if _, err := os.Stat(StructuredFile(dir, e.Name(), corrected)); err == nil {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	if len(names) == 0 {
		return nil, fmt.Errorf("list datasets: no X/X_2k.log_structured*.csv under %s: %w", dir, ErrInput)
	}
	return names, nil
}

// SharedDataDir finds the project's shared data folder: $LOGNATS_SHARED_DATA
// when set, else ../shared/data beside the repository root (the folder
// holding go.mod) found by walking up from start. ok is false when there is
// none.
func SharedDataDir(start string) (dir string, ok bool) {
	if env := os.Getenv("LOGNATS_SHARED_DATA"); env != "" {
		_, err := os.Stat(env)
		return env, err == nil
	}
	d, err := filepath.Abs(start)
	if err != nil {
		return "", false
	}
	for {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			data := filepath.Join(d, "..", "shared", "data")
			_, err := os.Stat(data)
			return data, err == nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", false
		}
		d = parent
	}
}
