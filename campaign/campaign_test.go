package campaign

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDefault(t *testing.T) {
	c := Default()
	if got, want := len(c.Wards), 34; got != want {
		t.Fatalf("wards = %d, want %d", got, want)
	}
	if c.TargetStudents != 3200 {
		t.Errorf("target = %d, want 3200", c.TargetStudents)
	}
	if c.Location.String() != "Asia/Ho_Chi_Minh" {
		t.Errorf("time zone = %s", c.Location)
	}
	if got := c.Start.Format(DateLayout) + ".." + c.End.Format(DateLayout); got != "2021-09-01..2021-09-30" {
		t.Errorf("window = %s", got)
	}
	w, ok := c.Ward("26800")
	if !ok || w.Name != "Phường Linh Trung" || w.NameEN != "Linh Trung Ward" {
		t.Errorf("ward 26800 = %+v, %v", w, ok)
	}
	if _, ok := c.Ward("99999"); ok {
		t.Error("unknown ward found")
	}
	wantMilestones := map[string]string{"plan": "2021-09-13", "launch": "2021-09-15", "handover": "2021-09-17", "final_report": "2021-10-01"}
	for key, date := range wantMilestones {
		m, ok := c.Milestone(key)
		if !ok || m.Date.Format(DateLayout) != date {
			t.Errorf("milestone %s = %v %v, want %s", key, m.Date, ok, date)
		}
	}
	for _, level := range SchoolLevels {
		if len(c.Software[level]) == 0 {
			t.Errorf("no learning software listed for %s", level)
		}
	}
	if h, _ := c.Milestone("handover"); h.End.Format(DateLayout) != "2021-09-30" {
		t.Errorf("handover ends %v", h.End)
	}
}

func TestLoadFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("wards.csv", "code,name,name_en\n001,Phường Một,Ward One\n002,Xã Hai,Commune Two\n")
	tests := []struct {
		name, body, wantErr string
	}{
		{"csv wards", `{"id":"x-2022","name":{"vi":"Chiến dịch X"},"registration_prefix":"XA","target_students":10,"start":"2022-01-01","end":"2022-01-31","wards_csv":"wards.csv"}`, ""},
		{"inline wards", `{"id":"y","name":{"vi":"Y"},"registration_prefix":"Y","start":"2022-01-01","end":"2022-01-31","wards":[{"code":"1","name":"Phường A"}]}`, ""},
		{"bad prefix", `{"id":"y","name":{"vi":"Y"},"registration_prefix":"abc","start":"2022-01-01","end":"2022-01-31","wards":[{"code":"1","name":"A"}]}`, "registration_prefix"},
		{"end before start", `{"id":"y","name":{"vi":"Y"},"registration_prefix":"Y","start":"2022-02-01","end":"2022-01-31","wards":[{"code":"1","name":"A"}]}`, "before start"},
		{"no wards", `{"id":"y","name":{"vi":"Y"},"registration_prefix":"Y","start":"2022-01-01","end":"2022-01-31"}`, "no wards"},
		{"unknown field", `{"id":"y","nme":{"vi":"Y"}}`, "unknown field"},
		{"bad zone", `{"id":"y","name":{"vi":"Y"},"registration_prefix":"Y","time_zone":"Mars/Base","start":"2022-01-01","end":"2022-01-31","wards":[{"code":"1","name":"A"}]}`, "time_zone"},
		{"unknown software level", `{"id":"y","name":{"vi":"Y"},"registration_prefix":"Y","start":"2022-01-01","end":"2022-01-31","software":{"college":["x"]},"wards":[{"code":"1","name":"A"}]}`, "software"},
		{"duplicate ward", `{"id":"y","name":{"vi":"Y"},"registration_prefix":"Y","start":"2022-01-01","end":"2022-01-31","wards":[{"code":"1","name":"A"},{"code":"1","name":"B"}]}`, "twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := LoadFile(write("c.json", tt.body))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(c.Wards) == 0 || c.Location == nil {
				t.Fatalf("campaign = %+v", c)
			}
		})
	}
	c, err := LoadFile(filepath.Join(dir, "missing.json"))
	if err == nil || c != nil {
		t.Fatal("a missing file loaded")
	}
}

func TestCampaign_Day(t *testing.T) {
	c := Default()
	// 17:30 UTC on 16 Sept is 00:30 on 17 Sept in Hồ Chí Minh City (UTC+7).
	got := c.Day(time.Date(2021, 9, 16, 17, 30, 0, 0, time.UTC))
	if got.Format(DateLayout) != "2021-09-17" {
		t.Errorf("day = %s, want 2021-09-17", got.Format(DateLayout))
	}
}

func TestFoldAndNormalize(t *testing.T) {
	tests := []struct{ in, fold, norm string }{
		{"Phường Linh Trung", "phuong linh trung", "Phường Linh Trung"},
		{"  ĐẶNG   Văn  Đức ", "dang van duc", "ĐẶNG Văn Đức"},
		{"Nguye\u0302\u0303n Thi\u0323", "nguyen thi", "Nguyễn Thị"}, // typed decomposed (NFD)
		{"Thủ Đức", "thu duc", "Thủ Đức"},
		{"", "", ""},
	}
	for _, tt := range tests {
		if got := Fold(tt.in); got != tt.fold {
			t.Errorf("Fold(%q) = %q, want %q", tt.in, got, tt.fold)
		}
		if got := NormalizeText(tt.in); got != tt.norm {
			t.Errorf("NormalizeText(%q) = %q, want %q", tt.in, got, tt.norm)
		}
	}
}

func TestCampaign_MatchWards(t *testing.T) {
	c := Default()
	names := func(ws []Ward) string {
		var s []string
		for _, w := range ws {
			s = append(s, w.ShortName)
		}
		return strings.Join(s, ",")
	}
	tests := []struct{ in, want string }{
		{"linh trung", "Linh Trung"},
		{"Phường Linh Trung", "Linh Trung"},
		{"P. LINH TRUNG", "Linh Trung"},
		{"26800", "Linh Trung"},
		{"thu thiem", "Thủ Thiêm"},
		{"an phu", "An Phú"},
		{"Đông", "Bình Trưng Đông,Phước Long A,Phước Long B,An Lợi Đông"},
		{"linh", "Linh Xuân,Linh Trung,Linh Chiểu,Linh Tây,Linh Đông"},
		{"tân phú", "Tân Phú"},
		{"hà nội", ""},
		{"", ""},
		{"phường", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got := names(c.MatchWards(tt.in))
			if tt.in == "Đông" {
				// Whatever "đông" finds must each contain a word starting with "dong".
				for _, w := range c.MatchWards(tt.in) {
					if !containsWord(Fold(w.ShortName), "dong") {
						t.Errorf("%s does not contain dong", w.ShortName)
					}
				}
				if got == "" {
					t.Error("nothing found for Đông")
				}
				return
			}
			if got != tt.want {
				t.Errorf("MatchWards(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestSchoolLevel_HasGrade(t *testing.T) {
	tests := []struct {
		level SchoolLevel
		grade int
		want  bool
	}{
		{LevelPrimary, 1, true}, {LevelPrimary, 5, true}, {LevelPrimary, 6, false}, {LevelPrimary, 11, false},
		{LevelLowerSecondary, 6, true}, {LevelLowerSecondary, 9, true}, {LevelLowerSecondary, 10, false},
		{LevelUpperSecondary, 10, true}, {LevelUpperSecondary, 12, true}, {LevelUpperSecondary, 13, false},
		{SchoolLevel("college"), 1, false},
	}
	for _, tt := range tests {
		if got := tt.level.HasGrade(tt.grade); got != tt.want {
			t.Errorf("%s.HasGrade(%d) = %v", tt.level, tt.grade, got)
		}
	}
}

func TestErrorCode(t *testing.T) {
	if ErrorCode(nil) != "" {
		t.Error("nil error has a code")
	}
	err := Errorf(ENOTFOUND, "registration %s", "TD-1")
	if ErrorCode(err) != ENOTFOUND {
		t.Errorf("code = %s", ErrorCode(err))
	}
	wrapped := fmtErrorf("store: %w", err)
	if ErrorCode(wrapped) != ENOTFOUND {
		t.Errorf("wrapped code = %s", ErrorCode(wrapped))
	}
	if ErrorCode(os.ErrClosed) != EINTERNAL {
		t.Error("plain error is not internal")
	}
}

func fmtErrorf(format string, args ...any) error { return fmt.Errorf(format, args...) }
