package campaign

import "testing"

// BenchmarkFold folds what people type: a Vietnamese name with its marks, and plain ASCII.
func BenchmarkFold(b *testing.B) {
	for _, s := range []struct{ name, in string }{
		{"vietnamese", "Phường Linh Trung, Thủ Đức"},
		{"ascii", "phuong linh trung"},
	} {
		b.Run(s.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Fold(s.in)
			}
		})
	}
}

// TestFold_Concurrent: Fold's transformers are shared between goroutines through a pool; folding
// at once gives what folding one at a time gives.
func TestFold_Concurrent(t *testing.T) {
	ins := []string{"Phường Linh Trung", "THỦ ĐỨC", "Trường THCS Bình Thọ", "an khanh", "Ngô Thị  Ánh", "Đặng Văn Bi"}
	want := make([]string, len(ins))
	for i, s := range ins {
		want[i] = Fold(s)
	}
	done := make(chan string, 8)
	for g := range 8 {
		go func() {
			for n := range 500 {
				i := (g + n) % len(ins)
				if got := Fold(ins[i]); got != want[i] {
					done <- "Fold(" + ins[i] + ") = " + got + " at once, " + want[i] + " alone"
					return
				}
			}
			done <- ""
		}()
	}
	for range 8 {
		if msg := <-done; msg != "" {
			t.Error(msg)
		}
	}
	if want[1] != "thu duc" || want[4] != "ngo thi anh" {
		t.Errorf("folds: %q", want)
	}
}
