package export

import (
	"bytes"
	"strings"
	"testing"
)

// TestRefWriter writes a worksheet's XML in pieces of every size: the refs are replaced wherever
// the pieces split them, and nothing else changes.
func TestRefWriter(t *testing.T) {
	const in = `<worksheet><dimension ref="A1"></dimension><sheetData><row r="1"><c r="A1" t="inlineStr">` +
		`<is><t>&lt;autoFilter ref=&quot;x&quot;</t></is></c></row></sheetData>` +
		`<autoFilter ref="$A$1:$B$2"></autoFilter></worksheet>`
	want := strings.NewReplacer(`ref="A1">`, `ref="A1:B2">`, `ref="$A$1:$B$2"`, `ref="A1:B2"`).Replace(in)
	for size := 1; size <= len(in); size++ {
		var out bytes.Buffer
		z := &sheetZip{}
		z.cur = &refWriter{w: &out, part: "sheet1.xml", markers: []string{`<dimension ref="`, `<autoFilter ref="`}, ref: "A1:B2"}
		for i := 0; i < len(in); i += size {
			if n, err := z.cur.Write([]byte(in[i:min(i+size, len(in))])); err != nil || n != min(size, len(in)-i) {
				t.Fatalf("size %d: Write = %d, %v", size, n, err)
			}
		}
		if err := z.finish(); err != nil || z.err != nil {
			t.Fatalf("size %d: finish = %v, %v", size, err, z.err)
		}
		if out.String() != want {
			t.Fatalf("size %d:\n got %s\nwant %s", size, out.String(), want)
		}
	}

	// A worksheet without a filter is an error once it is written whole, not a silent one.
	var out bytes.Buffer
	z := &sheetZip{}
	z.cur = &refWriter{w: &out, part: "sheet1.xml", markers: []string{`<dimension ref="`, `<autoFilter ref="`}, ref: "A1:B2"}
	if _, err := z.cur.Write([]byte(`<worksheet><dimension ref="A1"></dimension></worksheet>`)); err != nil {
		t.Fatal(err)
	}
	if err := z.finish(); err != nil || z.err == nil || !strings.Contains(z.err.Error(), "<autoFilter>") {
		t.Errorf("finish = %v, %v; want an error naming the <autoFilter>", err, z.err)
	}
	if out.String() != `<worksheet><dimension ref="A1:B2"></dimension></worksheet>` {
		t.Errorf("written = %s", out.String())
	}
}
