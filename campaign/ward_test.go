package campaign

import (
	"strings"
	"testing"
)

func wardNames(ws []Ward) string {
	var s []string
	for _, w := range ws {
		s = append(s, w.ShortName)
	}
	return strings.Join(s, ",")
}

func TestCampaign_WardIn(t *testing.T) {
	c := Default()
	tests := []struct{ in, want string }{
		{"12 đường số 5, khu phố 3, Linh Trung", "Linh Trung"},
		{"12 đường số 5, KP3, P. Linh Trung, TP Thủ Đức", "Linh Trung"},
		{"12 đường số 5 KP3 P.Linh Trung TP Thủ Đức", "Linh Trung"},
		{"8 Tô Ngọc Vân, phường Tam Phú", "Tam Phú"},
		{"8 To Ngoc Van, Tam Phu Ward", "Tam Phú"},
		{"45/2 đường 9, phường Phước Long B", "Phước Long B"},
		{"5 Đặng Văn Bi; Trường Thọ", "Trường Thọ"},
		{"Phường Thảo Điền", "Thảo Điền"},
		// A street named like a ward is not the ward.
		{"123 đường Tam Bình, Thủ Đức", ""},
		{"99 Linh Trung street", ""},
		// Two wards named: which one is not for the bot to guess.
		{"12 Linh Đông, p. Linh Tây, Linh Xuân", ""},
		{"12 đường số 5, khu phố 3", ""},
		{"p. 5", ""},
		{"", ""},
		{strings.Repeat("linh trung, ", 100), ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			w, ok := c.WardIn(tt.in)
			if got := w.ShortName; got != tt.want || ok != (tt.want != "") {
				t.Errorf("WardIn(%q) = %q, %v; want %q", tt.in, got, ok, tt.want)
			}
		})
	}
}

func TestCampaign_SuggestWards(t *testing.T) {
	c := Default()
	tests := []struct{ in, want string }{
		{"linh trug", "Linh Trung"},
		{"linhtrung", "Linh Trung"},
		{"Phuong Lnih Trung", "Linh Trung"},
		{"phuog linh trung", "Linh Trung"},
		{"thao dien", "Thảo Điền"},
		{"tang nhon phu", "Tăng Nhơn Phú A,Tăng Nhơn Phú B"},
		{"12 đường số 5, p. linh trug, TP Thủ Đức", "Linh Trung"},
		{"12 đường số 5, p. linh trug TP Thủ Đức", "Linh Trung"},
		{"an phi", "An Phú"},
		{"xyz", ""},
		{"hà nội", ""},
		{"12 đường số 5, khu phố 3", ""},
		{"", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := wardNames(c.SuggestWards(tt.in)); got != tt.want {
				t.Errorf("SuggestWards(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestEditDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"abc", "abc", 0}, {"abc", "", 3}, {"linh trug", "linh trung", 1},
		{"lnih", "linh", 1}, {"kitten", "sitting", 3}, {"thảo", "thao", 1},
	}
	for _, tt := range tests {
		if got := editDistance(tt.a, tt.b); got != tt.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}
