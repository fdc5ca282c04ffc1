package campaign

import (
	"strings"
	"testing"
)

func TestParseVND(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"5 triệu", 5_000_000, true},
		{"5tr", 5_000_000, true},
		{"5TR", 5_000_000, true},
		{"5,5 triệu", 5_500_000, true},
		{"1.5tr", 1_500_000, true},
		{"5.000.000", 5_000_000, true},
		{"5,000,000 đ", 5_000_000, true},
		{"5000000 VND", 5_000_000, true},
		{"5000000vnđ", 5_000_000, true},
		{"500k", 500_000, true},
		{"500 nghìn", 500_000, true},
		{"500 ngàn đồng", 500_000, true},
		{"1 tỷ", 1_000_000_000, true},
		{"1,1 tỷ", 1_100_000_000, true},
		{"2 trieu", 2_000_000, true},
		{"250.000 đ", 250_000, true},
		{"tri\u1ec7u", 0, false}, // a unit without a number
		{"0", 0, false},
		{"-5tr", 0, false},
		{"5,5", 0, false},          // a decimal without a unit is ambiguous
		{"5.00.000", 0, false},     // groups of three only
		{"1,0000001 tr", 0, false}, // not a whole number of đồng
		{"abc", 0, false},
		{"", 0, false},
		{"99999999999999999999", 0, false},
		{"9999999999999 tỷ", 0, false},
		{"5 triệu 500", 0, false},
	}
	for _, tt := range tests {
		got, ok := ParseVND(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("ParseVND(%q) = %d, %v; want %d, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestFormatVND(t *testing.T) {
	tests := map[int64]string{0: "0 đ", 5: "5 đ", 1000: "1.000 đ", 5_000_000: "5.000.000 đ", -25_000: "-25.000 đ"}
	for in, want := range tests {
		if got := FormatVND(in); got != want {
			t.Errorf("FormatVND(%d) = %q, want %q", in, got, want)
		}
	}
}

func FuzzParseVND(f *testing.F) {
	for _, s := range []string{"5 triệu", "5tr", "5.000.000", "5,000,000 đ", "1,1 tỷ", "500k", "0", "-1", "1e9", "..."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, ok := ParseVND(s)
		if !ok {
			if n != 0 {
				t.Fatalf("ParseVND(%q) refused but returned %d", s, n)
			}
			return
		}
		if n <= 0 {
			t.Fatalf("ParseVND(%q) = %d, want a positive amount", s, n)
		}
		// What FormatVND writes reads back the same.
		if back, ok := ParseVND(FormatVND(n)); !ok || back != n {
			t.Fatalf("ParseVND(FormatVND(%d)) = %d, %v", n, back, ok)
		}
		if !strings.ContainsAny(s, "0123456789") {
			t.Fatalf("accepted %q, which has no digit", s)
		}
	})
}
