package flows

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/thuduc/maytinhchoem/campaign"
	"github.com/thuduc/maytinhchoem/campaign/campaigntest"
)

var long = strings.Repeat("a", 10000)

// TestReasks sends a wrong answer at each step and checks the specific reason, that the form
// stays at the step, that no answer changed and that the miss is counted.
func TestReasks(t *testing.T) {
	tests := []struct {
		step   string
		in     Input
		reason string
	}{
		{stepConsent, other(), "common.need_text"},
		{stepConsent, text("có lẽ"), "common.use_buttons"},
		{stepConsent, text(long), "common.use_buttons"},
		{stepParentName, text(""), "common.need_text"},
		{stepParentName, text(" \u200b "), "common.need_text"},
		{stepParentName, text(long), "reg.err.name_long"},
		{stepParentName, text("🙂🙂🙂"), "reg.err.name_symbols"},
		{stepParentName, text("Robert'); DROP TABLE registrations;--"), "reg.err.name_symbols"},
		{stepParentName, text("Lan"), "reg.err.name_one_word"},
		{stepParentName, text("Nguyễn Thị Lan 2"), "reg.err.name_digits"},
		{stepParentName, other(), "common.need_text"},
		{stepParentName, contact("84912345678", "1001"), "common.need_text"},
		{stepPhone, text("0123456789"), "reg.err.phone_invalid"},
		{stepPhone, text("028 3896 1234"), "reg.err.phone_landline"},
		{stepPhone, text("+1 202 555 0123"), "reg.err.phone_not_vn"},
		{stepPhone, text("không có"), "reg.err.phone_format"},
		{stepPhone, text(long), "reg.err.phone_format"},
		{stepPhone, text("📱📱"), "reg.err.phone_format"},
		{stepPhone, contact("84912345678", "999"), "reg.err.contact_not_own"},
		{stepPhone, contact("84912345678", ""), "reg.err.contact_not_own"},
		{stepPhone, contact("02838961234", "1001"), "reg.err.phone_landline"},
		{stepPhone, other(), "common.need_text"},
		{stepStudentName, text(long), "reg.err.name_long"},
		{stepStudentName, text("🙂"), "reg.err.name_symbols"},
		{stepStudentName, text("Khang"), "reg.err.name_one_word"},
		{stepStudentName, text("Lê Văn A'; DROP TABLE x"), "reg.err.name_symbols"},
		{stepStudentName, text("Khang 05/09/2012"), "reg.err.name_one_word"}, // the date is not kept without the name
		{stepBirthDate, text("05/09/2030"), "reg.err.date_future"},
		{stepBirthDate, text("11/09/2021"), "reg.err.date_future"},
		{stepBirthDate, text("31/02/2012"), "reg.err.date_impossible"},
		{stepBirthDate, text("01/01/2019"), "reg.err.age_young"},
		{stepBirthDate, text("01/01/1990"), "reg.err.age_old"},
		{stepBirthDate, text("5/9"), "reg.err.date_no_year"},
		{stepBirthDate, text("hôm qua"), "reg.err.date_format"},
		{stepBirthDate, text(long), "reg.err.date_format"},
		{stepBirthDate, text("🎂"), "reg.err.date_format"},
		{stepGrade, text("13"), "reg.err.grade_range"},
		{stepGrade, text("tiểu học"), "reg.err.grade_format"},
		{stepGrade, text("trường Linh Trung lớp 4"), "reg.err.grade_format"},
		{stepGrade, other(), "common.need_text"},
		{stepGrade, text("lớp ba"), "reg.err.grade_format"},
		{stepGrade, text(long), "reg.err.grade_format"},
		{stepSchool, text("a"), "reg.err.text_short"},
		{stepSchool, text(long), "reg.err.text_long"},
		{stepSchool, text("🏫🏫🏫"), "reg.err.text_no_letters"},
		{stepWard, text("Phường Không Có"), "reg.err.ward_not_found"},
		{stepWard, text(long), "reg.err.ward_not_found"},
		{stepWard, text("🏠"), "reg.err.ward_not_found"},
		{stepAddress, text("12"), "reg.err.text_short"},
		{stepAddress, text("🏠🏠🏠🏠🏠🏠"), "reg.err.text_no_letters"},
		{stepAddress, text(long), "reg.err.text_long"},
		{stepCircumstances, press("r:circumstances:!done"), "reg.err.circumstances_none"},
		{stepCircumstances, text("xong"), "reg.err.circumstances_none"},
		{stepCircumstances, text("nhà có 5 người"), "common.use_buttons"},
		{stepCircumstances, text("hộ nghèo, nhà có 5 người"), "common.use_buttons"},
		{stepCircumstances, text("9"), "common.use_buttons"}, // no ninth option
		{stepOtherText, text("a"), "reg.err.text_short"},
		{stepOtherText, text(long), "reg.err.text_long"},
		{stepDeviceSituation, text("máy tính"), "common.use_buttons"},
		{stepNeeds, press("r:needs:!done"), "reg.err.needs_none"},
		{stepReview, text("ok gửi đi"), "common.use_buttons"},
		{stepReview, other(), "common.need_text"},
	}
	for _, tt := range tests {
		t.Run(tt.step+"/"+clip(describe(tt.in), 30), func(t *testing.T) {
			c := newChat(t)
			c.toStep(tt.step)
			before := maps.Clone(c.st.Answers)
			misses := c.st.Misses
			out := c.send(tt.in)
			if !slices.Contains(c.ids, tt.reason) {
				t.Errorf("reason %q not given; ids %v\n%s", tt.reason, c.ids, dump(out))
			}
			if c.st.Step != tt.step || c.st.Flow != FlowRegistration {
				t.Errorf("moved to %q", c.st.Step)
			}
			if !maps.Equal(before, c.st.Answers) {
				t.Errorf("answers changed:\n%v\n%v", before, c.st.Answers)
			}
			if c.st.Misses != misses+1 {
				t.Errorf("misses %d, want %d", c.st.Misses, misses+1)
			}
			// The question is asked again, after the reason.
			if fld := c.e.formNamed(FlowRegistration).field(tt.step); fld != nil {
				var data map[string]any
				if fld.promptData != nil {
					st := c.st
					data = fld.promptData(&turn{e: c.e, st: &st, lang: langVI})
				}
				prompt := msg(c.e, langVI, fld.prompt)
				if data != nil {
					prompt, _ = c.e.cat.Text(langVI, fld.prompt, data)
				}
				if !strings.Contains(allText(out), firstLine(prompt)) {
					t.Errorf("question not asked again:\n%s", dump(out))
				}
			}
		})
	}
}

func firstLine(s string) string {
	first, _, _ := strings.Cut(s, "\n")
	return first
}

// TestGradeSaysTheLevel checks the one question for grade and level: each grade, pressed or
// typed, keeps its level beside it, and the review shows them together.
func TestGradeSaysTheLevel(t *testing.T) {
	for _, tt := range []struct {
		in    Input
		grade string
		level campaign.SchoolLevel
	}{
		{press("r:grade:1"), "1", campaign.LevelPrimary},
		{press("r:grade:5"), "5", campaign.LevelPrimary},
		{text("lớp 6"), "6", campaign.LevelLowerSecondary},
		{text("9A2"), "9", campaign.LevelLowerSecondary},
		{text("10"), "10", campaign.LevelUpperSecondary},
		{press("r:grade:12"), "12", campaign.LevelUpperSecondary},
	} {
		c := newChat(t)
		c.toStep(stepGrade)
		c.send(tt.in)
		if c.st.Answers[stepGrade] != tt.grade || c.st.Answers[stepLevel] != string(tt.level) {
			t.Errorf("%s: %v", describe(tt.in), c.st.Answers)
		}
	}
	// The buttons go one school level a row.
	c := newChat(t)
	out := c.toStep(stepGrade)
	var sizes []int
	for _, row := range out[len(out)-1].Buttons {
		sizes = append(sizes, len(row))
	}
	if !slices.Equal(sizes, []int{5, 4, 3}) {
		t.Errorf("grade rows %v:\n%s", sizes, dump(out))
	}
	c.toReview()
	c.send(press("r:review:submit"))
	if r := c.regs.All()[0]; r.Level != campaign.LevelPrimary || r.Grade != 3 {
		t.Errorf("stored level %s, grade %d", r.Level, r.Grade)
	}
}

// TestTwoAnswersInOneMessage types the child's name with the birth date, and the grade with the
// school: each message answers two questions; a second part refused asks its question again,
// the first part kept.
func TestTwoAnswersInOneMessage(t *testing.T) {
	c := newChat(t)
	c.toStep(stepStudentName)
	c.send(text("trần minh khang, sinh ngày 5/9/2012"))
	if c.st.Answers[stepStudentName] != "Trần Minh Khang" || c.st.Answers[stepBirthDate] != "2012-09-05" || c.st.Step != stepGrade {
		t.Fatalf("name and birth date: %+v", c.st)
	}
	c.send(text("lớp 3, Trường Tiểu học Linh Trung"))
	if c.st.Answers[stepGrade] != "3" || c.st.Answers[stepSchool] != "Trường Tiểu học Linh Trung" || c.st.Step != stepWard {
		t.Fatalf("grade and school: %+v", c.st)
	}

	c = newChat(t)
	c.toStep(stepStudentName)
	out := c.send(text("Trần Minh Khang 31/02/2012"))
	if c.st.Answers[stepStudentName] != "Trần Minh Khang" || c.st.Step != stepBirthDate || c.st.Misses != 1 ||
		!slices.Contains(c.ids, "reg.err.date_impossible") || !strings.Contains(allText(out), msg(c.e, langVI, "reg.birth_date.prompt")) {
		t.Errorf("a wrong date after a good name: %+v\n%s", c.st, dump(out))
	}
	// A grade followed by a school level is the grade alone; the school is asked.
	c = newChat(t)
	c.toStep(stepGrade)
	c.send(text("lớp 4 tiểu học"))
	if c.st.Answers[stepGrade] != "4" || c.st.Answers[stepSchool] != "" || c.st.Step != stepSchool {
		t.Errorf("grade and level: %+v", c.st)
	}
	// While editing from the review, a name with a date changes both.
	c = newChat(t)
	c.toReview()
	c.send(press("r:review:edit.student_name"))
	c.send(text("Trần Minh Khôi 1/1/2013"))
	if c.st.Answers[stepStudentName] != "Trần Minh Khôi" || c.st.Answers[stepBirthDate] != "2013-01-01" || c.st.Step != stepReview {
		t.Errorf("edited name and date: %+v", c.st)
	}
}

// TestGradeFarFromBirthYearIsConfirmedOnce checks that a grade more than two years from the
// usual one of the child's birth year is asked once to confirm, never refused, and that «Sửa»
// asks the grade again in place.
func TestGradeFarFromBirthYearIsConfirmedOnce(t *testing.T) {
	c := newChat(t)
	c.toStep(stepBirthDate)
	c.send(text("05/09/2005")) // grade 11 in 2021-22; 21 years old by the clock of 2026, not then
	c.send(press("r:grade:11"))
	if c.st.Step != stepSchool {
		t.Fatalf("the usual grade was questioned: %+v", c.st)
	}

	c = newChat(t)
	c.toStep(stepGrade)               // born 5/9/2012: grade 3 is usual, 1 to 5 pass
	out := c.send(press("r:grade:8")) // five years off
	if c.st.Step != stepGradeCheck || !strings.Contains(dump(out), "r:grade_check:yes") || !strings.Contains(out[0].Text, "2012") {
		t.Fatalf("grade 8 for a child born in 2012 not questioned: %+v\n%s", c.st, dump(out))
	}
	out = c.send(press("r:grade_check:fix"))
	if c.st.Step != stepGrade || c.st.Answers[stepGrade] != "" || !out[0].Replace {
		t.Fatalf("«Sửa»: %+v\n%s", c.st, dump(out))
	}
	c.send(text("8"))
	c.send(text("đúng"))
	if c.st.Step != stepSchool || c.st.Answers[stepGrade] != "8" || c.st.Answers[stepGradeCheck] != gradeCheckYes {
		t.Fatalf("confirmed: %+v", c.st)
	}
	c.toReview()
	out = c.send(press("r:review:submit"))
	if len(c.regs.All()) != 1 || c.regs.All()[0].Grade != 8 || c.regs.All()[0].Level != campaign.LevelLowerSecondary {
		t.Errorf("not stored as confirmed: %+v\n%s", c.regs.All(), dump(out))
	}

	// Confirmed once, the review does not ask again; a new birth date does.
	c = newChat(t)
	c.toStep(stepGrade)
	c.send(press("r:grade:8"))
	c.send(press("r:grade_check:yes"))
	c.toReview()
	if strings.Contains(dump(c.send(press("r:review:edit.school"))), "grade_check") {
		t.Error("asked again while editing another answer")
	}
	c.send(press("r:school:!keep"))
	c.send(press("r:review:edit.birth_date"))
	c.send(text("1/1/2009")) // grade 8 is usual then
	if c.st.Step != stepReview || c.st.Answers[stepGradeCheck] != "" {
		t.Errorf("after a new birth date: %+v", c.st)
	}
}

// TestNoneOfTheCircumstances checks «Không thuộc các trường hợp trên»: it excludes the others
// both ways, and the family is registered with no circumstance.
func TestNoneOfTheCircumstances(t *testing.T) {
	c := newChat(t)
	c.toStep(stepCircumstances)
	c.send(press("r:circumstances:poor"))
	c.send(press("r:circumstances:none"))
	if got := c.st.Answers[draftKey(stepCircumstances)]; got != circumstancesNone {
		t.Errorf("none after poor: %q", got)
	}
	c.send(press("r:circumstances:near_poor"))
	if got := c.st.Answers[draftKey(stepCircumstances)]; got != "near_poor" {
		t.Errorf("near poor after none: %q", got)
	}
	c.send(press("r:circumstances:none"))
	c.send(press("r:circumstances:!done"))
	if c.st.Answers[stepCircumstances] != circumstancesNone || c.st.Step != stepDeviceSituation {
		t.Fatalf("%+v", c.st)
	}
	c.send(press("r:device_situation:none"))
	c.send(text("laptop"))
	out := c.send(press("r:review:submit"))
	if len(c.regs.All()) != 1 || len(c.regs.All()[0].Circumstances) != 0 || c.regs.All()[0].CircumstanceOther != "" {
		t.Fatalf("stored %+v\n%s", c.regs.All(), dump(out))
	}
	if s := c.e.cfg.Campaign.Priority(c.regs.All()[0]); s.Points != 4 {
		t.Errorf("score %+v", s)
	}
	// Typed: "không" alone is none; with others, the others win.
	for in, want := range map[string]string{"không": "none", "Không có": "none", "hộ nghèo, không": "poor", "none": "none"} {
		c := newChat(t)
		c.toStep(stepCircumstances)
		c.send(text(in))
		if got := c.st.Answers[stepCircumstances]; got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
}

// TestTypedListIsTheAnswer checks that a typed list answers a multi-choice question at once: by
// the options' names or words, or by their places ("1, 5", as Zalo numbers them), added to what
// was ticked, and said before the next question.
func TestTypedListIsTheAnswer(t *testing.T) {
	tests := []struct {
		ticked []string
		in     string
		want   string
	}{
		{nil, "hộ nghèo, khó khăn do covid", "poor,covid_hardship"},
		{nil, "Hộ cận nghèo và mồ côi cả cha mẹ", "near_poor,orphan_both_covid"},
		{nil, "1, 5", "poor,covid_hardship"},
		{nil, "2 3", "near_poor,orphan_one_covid"},
		{nil, "1. ; 7.", "poor"}, // none (7) gives way to poor
		{[]string{"poor"}, "covid", "poor,covid_hardship"},
		{[]string{"poor"}, "xong", "poor"},
	}
	for _, tt := range tests {
		c := newChat(t)
		c.toStep(stepCircumstances)
		for _, v := range tt.ticked {
			c.send(press("r:circumstances:" + v))
		}
		out := c.send(text(tt.in))
		if got := c.st.Answers[stepCircumstances]; got != tt.want || c.st.Step != stepDeviceSituation {
			t.Errorf("%q after %v: %q at %s, want %q", tt.in, tt.ticked, got, c.st.Step, tt.want)
		}
		if !strings.HasPrefix(out[0].Text, "✔️ Hoàn cảnh: ") {
			t.Errorf("%q: the answer is not said:\n%s", tt.in, dump(out))
		}
	}
	c := newChat(t)
	c.toStep(stepNeeds)
	c.send(text("máy tính bảng, sim 4g"))
	if c.st.Answers[stepNeeds] != "tablet,sim_4g" || c.st.Step != stepReview {
		t.Errorf("needs: %+v", c.st)
	}
}

// TestAcceptedAnswersAreNormalised checks that decomposed Vietnamese (as some keyboards type it)
// is stored composed, and that SQL-looking text is plain data in free-text fields.
func TestAcceptedAnswersAreNormalised(t *testing.T) {
	c := newChat(t)
	c.toStep(stepParentName)
	c.send(text(nfd("  nguyễn   thị   lan ")))
	if got := c.st.Answers[stepParentName]; got != "Nguyễn Thị Lan" || c.st.Step != stepPhone {
		t.Errorf("parent name %q, step %s", got, c.st.Step)
	}
	c.send(text("091.234.5678"))
	if got := c.st.Answers[stepPhone]; got != "+84912345678" {
		t.Errorf("phone %q", got)
	}
	c.send(text(nfd("Trần Minh Khang")))
	c.send(text("2009-09-05"))
	c.send(text("lớp 7A"))
	if c.st.Answers[stepLevel] != string(campaign.LevelLowerSecondary) || c.st.Answers[stepGrade] != "7" {
		t.Errorf("typed grade: %v", c.st.Answers)
	}
	c.send(text("'; DROP TABLE registrations; --"))
	if got := c.st.Answers[stepSchool]; got != "'; DROP TABLE registrations; --" {
		t.Errorf("school %q", got)
	}
	c.send(text(nfd("PHƯỜNG LINH TRUNG")))
	if got := c.st.Answers[stepWard]; got != "26800" {
		t.Errorf("ward %q", got)
	}
	if got := c.st.Answers[stepStudentName]; got != "Trần Minh Khang" {
		t.Errorf("student %q", got)
	}
}

func TestThirdMissOffersHelpAndCancel(t *testing.T) {
	hasStuckRow := func(out []Output, step string) bool {
		for _, o := range out {
			for _, row := range o.Buttons {
				var data []string
				for _, b := range row {
					data = append(data, b.Data)
				}
				if slices.Equal(data, []string{"r:" + step + ":!help", "r:" + step + ":!cancel", "r:" + step + ":!retry"}) {
					return true
				}
			}
		}
		return false
	}
	for _, step := range []string{stepParentName, stepPhone, stepGrade, stepCircumstances} {
		t.Run(step, func(t *testing.T) {
			c := newChat(t)
			c.toStep(step)
			bad := text("🙂")
			for i := 1; i <= 2; i++ {
				if out := c.send(bad); hasStuckRow(out, step) {
					t.Fatalf("miss %d already offers help:\n%s", i, dump(out))
				}
			}
			out := c.send(bad)
			if !hasStuckRow(out, step) {
				t.Fatalf("third miss does not offer help and cancel:\n%s", dump(out))
			}
			if c.st.Misses != 3 || c.st.Step != step {
				t.Errorf("state %+v", c.st)
			}
			out = c.send(press("r:" + step + ":!help"))
			f := c.e.formNamed(FlowRegistration)
			if !strings.Contains(allText(out), msg(c.e, langVI, f.field(step).help)) || c.st.Misses != 0 {
				t.Errorf("help:\n%s", dump(out))
			}
			c.send(bad)
			c.send(bad)
			c.send(bad)
			c.send(press("r:" + step + ":!cancel"))
			if c.st.Flow != "" {
				t.Errorf("cancel left %+v", c.st)
			}
		})
	}
}

func TestMissesResetOnValidAnswer(t *testing.T) {
	c := newChat(t)
	c.toStep(stepParentName)
	c.send(text("x"))
	c.send(text("x"))
	c.send(text("Nguyễn Thị Lan"))
	if c.st.Misses != 0 || c.st.Step != stepPhone {
		t.Errorf("%+v", c.st)
	}
}

func TestSubmitFailureKeepsState(t *testing.T) {
	for _, err := range []error{
		campaign.Errorf(campaign.EUNAVAILABLE, "postgres: connection refused to 10.0.0.5"),
		errors.New("pq: password authentication failed for user bot"),
	} {
		c := newChat(t)
		c.toReview()
		c.regs.SubmitErr = err
		old := c.st
		oldAnswers := maps.Clone(c.st.Answers)
		next, out, got := c.e.Handle(context.Background(), c.sess, c.st, Input{Kind: KindChoice, Data: "r:review:submit", UserID: c.userID})
		if !errors.Is(got, err) || out != nil {
			t.Fatalf("Handle = %v, %v; want the store's error", got, out)
		}
		if !statesEqual(next, old) || !maps.Equal(old.Answers, oldAnswers) {
			t.Errorf("state changed:\n%+v\n%+v", old, next)
		}
		reply := c.e.ErrorReply(langVI, got)
		if reply.Text != msg(c.e, langVI, "err.temporary") || strings.Contains(reply.Text, "postgres") || strings.Contains(reply.Text, "pq:") {
			t.Errorf("ErrorReply = %q", reply.Text)
		}
		// The old state still submits once the store is back, under the same key.
		c.regs.SubmitErr = nil
		out = c.send(press("r:review:submit"))
		if len(c.regs.All()) != 1 || c.regs.All()[0].IdempotencyKey != old.IdempotencyKey || !strings.Contains(out[0].Text, "TD-000001") {
			t.Errorf("after recovery: %+v\n%s", c.regs.All(), dump(out))
		}
	}
}

// TestRetriedSubmitShowsSameCode replays a submit whose reply was lost (the state was not saved):
// the store returns the first record, created=false, and the parent sees the same code.
func TestRetriedSubmitShowsSameCode(t *testing.T) {
	c := newChat(t)
	c.toReview()
	atReview := c.st
	first := allText(c.send(press("r:review:submit")))
	c.st = atReview
	second := allText(c.send(press("r:review:submit")))
	if len(c.regs.All()) != 1 || c.regs.Submits() != 2 {
		t.Fatalf("%d records after %d submits", len(c.regs.All()), c.regs.Submits())
	}
	if first != second || !strings.Contains(second, "TD-000001") {
		t.Errorf("first %q, retry %q", first, second)
	}
}

func TestSubmittedRegistration(t *testing.T) {
	c := newChat(t)
	c.clientLang = "en-GB"
	c.toReview()
	c.send(press("r:review:submit"))
	if len(c.regs.All()) != 1 {
		t.Fatal("not stored")
	}
	r := c.regs.All()[0]
	want := campaign.Registration{
		ID: 1, Code: "TD-000001", Status: campaign.StatusSubmitted, StudentID: 1,
		CampaignID: "thu-duc-2021", Channel: "telegram", ChatID: "1001", UserID: "1001", Language: "en",
		ParentName: "Nguyễn Thị Lan", ParentPhone: "+84912345678", StudentName: "Trần Minh Khang",
		BirthDate: time.Date(2012, 9, 5, 0, 0, 0, 0, time.UTC), Level: campaign.LevelPrimary, Grade: 3,
		School: "Trường Tiểu học Linh Trung", WardCode: "26800", Address: "12 đường số 5, khu phố 3",
		Circumstances:     []campaign.Circumstance{campaign.CircumstancePoor, campaign.CircumstanceOther},
		CircumstanceOther: "Cha mất việc do dịch", DeviceSituation: campaign.SituationSharesPhone,
		Needs: []campaign.Need{campaign.NeedLaptop}, IdempotencyKey: "key-1",
		ConsentAt: testStart.UTC(), CreatedAt: testStart, UpdatedAt: testStart,
	}
	if fmt.Sprintf("%+v", r) != fmt.Sprintf("%+v", want) {
		t.Errorf("stored\n%+v\nwant\n%+v", r, want)
	}
	if c.st.Flow != "" || c.st.Answers[lastPrefix+stepParentName] != "Nguyễn Thị Lan" {
		t.Errorf("state after submit %+v", c.st)
	}
	// Another child: a new form with a new key; the parent's name and phone are offered again.
	c.send(press("g:register"))
	if c.st.IdempotencyKey != "key-2" || c.st.Step != stepConsent {
		t.Errorf("another child: %+v", c.st)
	}
	out := c.send(press("r:consent:yes"))
	if !strings.Contains(dump(out), "r:parent_name:!last") {
		t.Errorf("no offer of the last name:\n%s", dump(out))
	}
}

func TestSubmitInvalidGoesBackToReview(t *testing.T) {
	c := newChat(t)
	c.toReview()
	c.regs.SubmitErr = campaign.Errorf(campaign.EINVALID, "ward")
	out := c.send(press("r:review:submit"))
	if c.st.Step != stepReview || !slices.Contains(c.ids, "reg.submit_invalid") || len(out[0].Buttons) == 0 {
		t.Errorf("%+v\n%s", c.st, dump(out))
	}
}

// TestEveryEdit edits each field from the review and checks the form comes back to the review
// with only that answer changed (and the grade re-asked after a level change).
func TestEveryEdit(t *testing.T) {
	edits := map[string][]Input{
		stepParentName:      {text("Lê Văn Bình")},
		stepPhone:           {text("0987654321")},
		stepStudentName:     {text("Trần Minh Khôi")},
		stepBirthDate:       {text("1/1/2011")},
		stepGrade:           {press("r:grade:4")},
		stepSchool:          {text("Trường Tiểu học Linh Tây")},
		stepWard:            {press("r:ward:27088")},
		stepAddress:         {text("99 Nguyễn Văn Bá")},
		stepCircumstances:   {press("r:circumstances:near_poor"), press("r:circumstances:!done")},
		stepOtherText:       {text("Nhà thuê trọ")},
		stepDeviceSituation: {press("r:device_situation:broken")},
		stepNeeds:           {press("r:needs:tablet"), press("r:needs:!done")},
	}
	f := registrationForm(campaign.Default())
	for _, fld := range f.fields {
		if fld.fixed {
			continue
		}
		ins, ok := edits[fld.name]
		if !ok {
			t.Errorf("no edit test for %s", fld.name)
			continue
		}
		t.Run(fld.name, func(t *testing.T) {
			c := newChat(t)
			c.toReview()
			before := maps.Clone(c.st.Answers)
			c.send(press("r:review:edit." + fld.name))
			if c.st.Step != fld.name || !c.st.Editing {
				t.Fatalf("edit: %+v", c.st)
			}
			for _, in := range ins {
				c.send(in)
			}
			if c.st.Step != stepReview || c.st.Editing {
				t.Fatalf("not back at the review: %+v", c.st)
			}
			for k, v := range before {
				changed := c.st.Answers[k] != v
				if changed != (k == fld.name) {
					t.Errorf("%s: %q -> %q", k, v, c.st.Answers[k])
				}
			}
		})
	}
}

func TestEditCircumstancesDropsOtherText(t *testing.T) {
	c := newChat(t)
	c.toReview()
	c.send(press("r:review:edit.circumstances"))
	c.send(press("r:circumstances:other"))
	c.send(cmd("status")) // leaving for a moment keeps the draft
	c.send(press("r:circumstances:!done"))
	if _, ok := c.st.Answers[stepOtherText]; ok || c.st.Answers[stepCircumstances] != "poor" || c.st.Step != stepReview {
		t.Errorf("%+v", c.st)
	}
	c.send(press("r:review:edit.circumstances"))
	c.send(press("r:circumstances:other"))
	c.send(press("r:circumstances:!done"))
	if c.st.Step != stepOtherText || !c.st.Editing {
		t.Fatalf("other text not asked: %+v", c.st)
	}
	c.send(text("Nhà thuê trọ"))
	if c.st.Step != stepReview {
		t.Errorf("%+v", c.st)
	}
}

func TestKeepWhileEditingMultiChoice(t *testing.T) {
	c := newChat(t)
	c.toReview()
	c.send(press("r:review:edit.needs"))
	c.send(press("r:needs:laptop")) // untick
	c.send(press("r:needs:!keep"))
	if c.st.Answers[stepNeeds] != "laptop" || c.st.Step != stepReview {
		t.Errorf("%+v", c.st)
	}
	if _, ok := c.st.Answers[draftKey(stepNeeds)]; ok {
		t.Errorf("draft left behind: %+v", c.st.Answers)
	}
}

// TestButtonsFit checks every button the registration can produce fits Telegram's 64 bytes:
// each ward, each page, each option, each control, each edit.
func TestButtonsFit(t *testing.T) {
	c := newChat(t)
	f := c.e.formNamed(FlowRegistration)
	var data []string
	for _, w := range c.e.cfg.Campaign.Wards {
		data = append(data, f.data(stepWard, w.Code))
	}
	for _, fld := range f.fields {
		for _, v := range []string{ctlHelp, ctlCancel, ctlRetry, ctlKeep, ctlDone, ctlPage + "99", ctlUseLast} {
			data = append(data, f.data(fld.name, v))
		}
		data = append(data, f.data(stepReview, reviewEdit+fld.name))
		if fld.options != nil {
			tc := &turn{e: c.e, st: &State{Answers: map[string]string{stepLevel: string(campaign.LevelUpperSecondary)}}, lang: langVI}
			for _, o := range fld.options(tc) {
				data = append(data, f.data(fld.name, o.value))
			}
		}
	}
	for _, d := range data {
		if len(d) > maxData {
			t.Errorf("%q is %d bytes", d, len(d))
		}
	}
	// A campaign whose ward codes are too long for a button is refused at start.
	camp := campaign.Default()
	bad := *camp
	bad.Wards = append(slices.Clone(camp.Wards), campaign.Ward{Code: strings.Repeat("9", 60), Name: "Phường X"})
	if _, err := NewEngine(Config{Campaign: &bad, Registrations: c.regs}); err == nil {
		t.Error("a ward code of 60 bytes was accepted")
	}
}

// TestLongestMessagesFit fills every answer to its maximum and checks the review, and a /status
// of many registrations with long reasons, stay within messageMax characters.
func TestLongestMessagesFit(t *testing.T) {
	for _, lang := range []string{langVI, langEN} {
		c := newChat(t)
		c.st.Lang = lang
		c.toStep(stepParentName)
		name := "Nguyễn " + strings.Repeat("Ữ", nameMax-7)
		c.send(text(name))
		c.send(text("0912345678"))
		c.send(text(name))
		c.send(text("05/09/2012"))
		c.send(press("r:grade:12"))
		c.send(press("r:grade_check:yes")) // born in 2012
		c.send(text(strings.Repeat("Ữ", schoolMax)))
		c.send(press("r:ward:26809"))
		c.send(text(strings.Repeat("Ữ", addressMax)))
		for _, v := range campaign.Circumstances {
			c.send(press("r:circumstances:" + string(v)))
		}
		c.send(press("r:circumstances:!done"))
		c.send(text(strings.Repeat("Ữ", otherTextMax)))
		c.send(press("r:device_situation:shares_phone"))
		for _, v := range campaign.Needs {
			c.send(press("r:needs:" + string(v)))
		}
		out := c.send(press("r:needs:!done"))
		if c.st.Step != stepReview {
			t.Fatalf("%+v", c.st)
		}
		n := utf8.RuneCountInString(out[0].Text)
		t.Logf("%s: longest review is %d characters", lang, n)
		// Misses and an invalid submit add their lines on top.
		c.regs.SubmitErr = campaign.Errorf(campaign.EINVALID, "x")
		c.send(press("r:review:submit"))
		c.send(text("x"))
		c.send(text("x"))
		c.send(text("x"))
		c.regs.SubmitErr = nil
		c.send(press("r:review:submit"))

		for i := range 50 {
			c.regs.Append(campaign.Registration{
				Code: fmt.Sprintf("TD-%06d", 900000+i), Channel: c.sess.Channel, ChatID: c.sess.ChatID,
				StudentName: name, Status: campaign.StatusRejected, RejectReason: strings.Repeat("Ữ", 2000),
			})
		}
		out = c.send(cmd("status"))
		t.Logf("%s: longest status is %d characters", lang, utf8.RuneCountInString(out[0].Text))
	}
}

func TestStatusInWords(t *testing.T) {
	c := newChat(t)
	statuses := []campaign.RegistrationStatus{
		campaign.StatusSubmitted, campaign.StatusVerified, campaign.StatusRejected, campaign.StatusAllocated,
		campaign.StatusDelivered, campaign.StatusRejected, "weird",
	}
	for i, s := range statuses {
		r := campaign.Registration{Code: fmt.Sprintf("TD-%06d", i+1), Channel: "telegram", ChatID: "1001", StudentName: "Trần Minh Khang", Status: s}
		if i == 2 {
			r.RejectReason = "Đã nhận hỗ trợ từ chương trình khác"
		}
		c.regs.Append(r)
	}
	c.regs.Append(campaign.Registration{Code: "TD-999999", Channel: "telegram", ChatID: "other chat", StudentName: "Ai Đó", Status: campaign.StatusSubmitted})
	out := c.send(cmd("status"))
	got := out[0].Text
	for _, want := range []string{
		msg(c.e, langVI, "status.count", "Count", 7),
		msg(c.e, langVI, "status.submitted"), msg(c.e, langVI, "status.verified"),
		msg(c.e, langVI, "status.rejected", "Reason", "Đã nhận hỗ trợ từ chương trình khác"),
		msg(c.e, langVI, "status.rejected_no_reason"), msg(c.e, langVI, "status.allocated"),
		msg(c.e, langVI, "status.delivered"), msg(c.e, langVI, "status.unknown"),
	} {
		if !strings.Contains(got, want) {
			t.Errorf("status lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "TD-999999") || strings.Index(got, "TD-000007") > strings.Index(got, "TD-000001") {
		t.Errorf("another chat's registration, or not newest first:\n%s", got)
	}
	for i := range 10 {
		c.regs.Append(campaign.Registration{Code: fmt.Sprintf("TD-1%05d", i), Channel: "telegram", ChatID: "1001", StudentName: "X Y", Status: campaign.StatusSubmitted})
	}
	got = c.send(cmd("status"))[0].Text
	if !strings.Contains(got, msg(c.e, langVI, "status.more", "Count", 17-statusShown)) || strings.Count(got, "\n") != statusShown+1 {
		t.Errorf("long list:\n%s", got)
	}
	c.regs.ListErr = campaign.Errorf(campaign.EUNAVAILABLE, "down")
	if _, err := c.trySend(cmd("status")); err == nil {
		t.Error("status ignored a store error")
	}
}

func TestLanguage(t *testing.T) {
	e := newChat(t).e
	tests := []struct {
		stLang, client, want string
	}{
		{"", "", "vi"}, {"", "vi", "vi"}, {"", "en", "en"}, {"", "en-US", "en"}, {"", "EN-gb", "en"},
		{"", "fr", "vi"}, {"vi", "en-US", "vi"}, {"en", "vi", "en"}, {"xx", "en", "en"},
	}
	for _, tt := range tests {
		if got := e.Language(State{Lang: tt.stLang}, Input{ClientLanguage: tt.client}); got != tt.want {
			t.Errorf("Language(%q, %q) = %q, want %q", tt.stLang, tt.client, got, tt.want)
		}
	}
}

func TestCommands(t *testing.T) {
	e := newChat(t).e
	vi, en := e.Commands(langVI), e.Commands(langEN)
	var names []string
	for i, c := range vi {
		names = append(names, c.Name)
		if c.Description == "" || en[i].Description == "" || en[i].Name != c.Name || len(c.Description) > 256 {
			t.Errorf("command %+v / %+v", c, en[i])
		}
	}
	if !slices.Equal(names, []string{"start", "status", "pledge", "pledges", "talk", "mydata", "cancel", "help", "lang"}) {
		t.Errorf("commands %v", names)
	}
	if vi[0].Description == en[0].Description {
		t.Error("descriptions are not translated")
	}
}

func TestErrorReply(t *testing.T) {
	e := newChat(t).e
	tests := map[string]string{
		campaign.EUNAVAILABLE:  "err.temporary",
		campaign.EINTERNAL:     "err.temporary",
		campaign.ENOTFOUND:     "err.not_found",
		campaign.EINVALID:      "err.invalid",
		campaign.EUNAUTHORIZED: "err.unauthorized",
		campaign.ECONFLICT:     "err.conflict",
	}
	for code, id := range tests {
		err := fmt.Errorf("wrapped: %w", campaign.Errorf(code, "secret detail 42"))
		for _, lang := range []string{langVI, langEN, "fr"} {
			got := e.ErrorReply(lang, err)
			want := lang
			if lang == "fr" {
				want = langVI
			}
			if got.Text != msg(e, want, id) || strings.Contains(got.Text, "secret") {
				t.Errorf("ErrorReply(%s, %s) = %q", lang, code, got.Text)
			}
		}
	}
	if got := e.ErrorReply(langEN, errors.New("boom")); got.Text != msg(e, langEN, "err.temporary") {
		t.Errorf("plain error: %q", got.Text)
	}
}

func TestLangIsSavedInStateAndContact(t *testing.T) {
	c := newChat(t)
	c.toStep(stepPhone)
	out := c.send(cmd("lang", "en"))
	if c.st.Lang != langEN || c.st.Step != stepPhone {
		t.Errorf("%+v", c.st)
	}
	if len(c.contacts.All()) != 1 || c.contacts.All()[0] != (campaign.Contact{Channel: "telegram", ExternalID: "1001", Language: "en"}) {
		t.Errorf("contacts %+v", c.contacts.All())
	}
	if !strings.Contains(allText(out), msg(c.e, langEN, "reg.phone.prompt")) || out[len(out)-1].AskContact == nil {
		t.Errorf("question not asked again in English:\n%s", dump(out))
	}
	c.contacts.Err = campaign.Errorf(campaign.EUNAVAILABLE, "down")
	if _, err := c.trySend(press("g:lang:vi")); err == nil {
		t.Error("a contact store error was ignored")
	}
	if c.st.Lang != langEN {
		t.Error("language changed although the store failed")
	}
	// Without a contact store the language lives in the state only.
	e, err := NewEngine(Config{Campaign: campaign.Default(), Registrations: c.regs})
	if err != nil {
		t.Fatal(err)
	}
	st, _, err := e.Handle(context.Background(), c.sess, State{}, cmd("lang", "en"))
	if err != nil || st.Lang != langEN {
		t.Errorf("no contact store: %+v, %v", st, err)
	}
}

func TestExpiry(t *testing.T) {
	c := newChat(t)
	c.toStep(stepStudentName)
	c.now = c.now.Add(DefaultIdleExpiry) // exactly the limit: still kept
	c.send(text("Trần Minh Khang"))
	if c.st.Step != stepBirthDate {
		t.Fatalf("expired at the limit: %+v", c.st)
	}
	c.st.Lang = langEN
	c.now = c.now.Add(DefaultIdleExpiry + time.Second)
	out := c.send(press("r:birth_date:!help"))
	if c.st.Flow != "" || c.st.Lang != langEN || !slices.Contains(c.ids, "common.expired") || !slices.Contains(c.ids, "common.welcome") {
		t.Errorf("%+v\n%s", c.st, dump(out))
	}
	if !strings.Contains(out[0].Text, "7 days") {
		t.Errorf("expiry message %q", out[0].Text)
	}
	// A command after expiry runs as from idle (within the registration window).
	c.now = testStart
	c.toStep(stepParentName)
	c.now = c.now.Add(DefaultIdleExpiry + time.Hour)
	c.send(cmd("start", "dangky"))
	if c.st.Step != stepConsent || !slices.Contains(c.ids, "common.expired") {
		t.Errorf("%+v %v", c.st, c.ids)
	}
}

func TestHandleLeavesCallersStateAlone(t *testing.T) {
	c := newChat(t)
	c.toStep(stepSchool)
	st := c.st
	copyOf := maps.Clone(st.Answers)
	next, _, err := c.e.Handle(context.Background(), c.sess, st, Input{Kind: KindText, Text: "Trường Tiểu học Linh Trung", UserID: "1001"})
	if err != nil || next.Answers[stepSchool] == "" {
		t.Fatal(err)
	}
	if !maps.Equal(st.Answers, copyOf) {
		t.Errorf("the caller's state was changed: %v", st.Answers)
	}
}

func TestUnknownFlowOrStep(t *testing.T) {
	c := newChat(t)
	c.st = State{Flow: "pledge-v9", Step: "amount", IdempotencyKey: "k", UpdatedAt: c.now, StartedAt: c.now, Lang: langEN}
	c.send(text("hello"))
	if c.st.Flow != "" || c.st.Lang != langEN {
		t.Errorf("%+v", c.st)
	}
	c.toStep(stepPhone)
	c.st.Step = "favourite_colour"
	c.send(text("blue"))
	if c.st.Step != stepPhone || c.st.Answers[stepPhone] != "" {
		t.Errorf("%+v", c.st)
	}
}

func TestNewEngineChecksConfig(t *testing.T) {
	if _, err := NewEngine(Config{Registrations: &campaigntest.Registrations{}}); err == nil {
		t.Error("no campaign accepted")
	}
	if _, err := NewEngine(Config{Campaign: campaign.Default()}); err == nil {
		t.Error("no registration store accepted")
	}
	e, err := NewEngine(Config{Campaign: campaign.Default(), Registrations: &campaigntest.Registrations{}})
	if err != nil {
		t.Fatal(err)
	}
	if e.cfg.IdleExpiry != DefaultIdleExpiry || e.cfg.Now == nil {
		t.Errorf("defaults %+v", e.cfg)
	}
	k1, k2 := e.cfg.NewKey(), e.cfg.NewKey()
	if len(k1) != 32 || k1 == k2 {
		t.Errorf("keys %q %q", k1, k2)
	}
}

// inputPool is what a random user does: typical and wrong answers, commands, stale and foreign
// buttons, photos and edits.
func inputPool() []Input {
	return []Input{
		text("Nguyễn Thị Lan"), text(nfd("Trần Minh Khang")), text("0912 345 678"), text("0123456789"),
		text("05/09/2012"), text("31/02/2012"), text("11"), text("3"), text("THCS"), text("tiểu học"),
		text("linh trung"), text("binh"), text("an"), text("xyz"), text("12 đường số 5"), text("xong"),
		text("hộ nghèo, khác"), text("laptop"), text("đồng ý"), text("không"), text(""), text(long),
		text("🙂"), text("'; DROP TABLE x; --"), cmd("start"), cmd("start", "dangky"), cmd("status"),
		cmd("cancel"), cmd("help"), cmd("lang"), cmd("lang", "en"), cmd("lang", "vi"), cmd("nope"),
		press("g:register"), press("g:status"), press("g:resume"), press("g:restart"), press("g:lang:en"),
		press("r:review:submit"), press("r:consent:yes"), press("r:level:primary"), press("r:grade:11"),
		press("r:ward:!p=99"), press("r:ward:!p=-1"), press("r:ward:abc"), press("r:needs:!done"),
		press("garbage"), press(""), other(), edited(), contact("84912345678", "1001"),
		contact("84912345678", "2"), {Kind: KindContact}, {Kind: "weird"},
	}
}

// TestRandomWalk lets random users loose on the engine and checks every reply's invariants and
// that each chat's state stays coherent (checkOutputs).
func TestRandomWalk(t *testing.T) {
	pool := inputPool()
	for seed := range uint64(40) {
		c := newChat(t)
		r := rand.New(rand.NewPCG(seed, 7))
		var out []Output
		submitted := 0
		for range 400 {
			var in Input
			// Mostly press a button of the last reply, as people do.
			var buttons []Button
			for _, o := range out {
				for _, row := range o.Buttons {
					buttons = append(buttons, row...)
				}
			}
			if len(buttons) > 0 && r.IntN(3) > 0 {
				in = press(buttons[r.IntN(len(buttons))].Data)
			} else {
				in = pool[r.IntN(len(pool))]
			}
			if r.IntN(50) == 0 {
				c.now = c.now.Add(8 * 24 * time.Hour)
			}
			if r.IntN(30) == 0 {
				c.regs.SubmitErr = campaign.Errorf(campaign.EUNAVAILABLE, "down")
			}
			var err error
			out, err = c.trySend(in)
			c.regs.SubmitErr = nil
			if err != nil {
				out = nil
				continue
			}
			if len(c.regs.All()) > submitted {
				submitted = len(c.regs.All())
			}
		}
	}
}

// FuzzHandleText types anything at every step: no panic, and every reply keeps the invariants.
func FuzzHandleText(f *testing.F) {
	for _, s := range seeds {
		f.Add(s, uint8(0))
	}
	f.Add("an", uint8(9))
	f.Add("Khác, xong", uint8(10))
	f.Fuzz(func(t *testing.T, s string, at uint8) {
		c := newChat(t)
		inputs := c.happyInputs()
		for _, in := range inputs[:int(at)%len(inputs)] {
			c.send(in)
		}
		c.send(text(s))
		c.send(Input{Kind: KindChoice, Data: s})
		c.send(Input{Kind: KindCommand, Command: "start", Args: s, Text: "/start " + s})
	})
}

// TestConcurrentChats runs many chats on one Engine at once, as the bot's workers do (run with
// -race): the Engine must hold no per-chat data.
func TestConcurrentChats(t *testing.T) {
	regs := campaigntest.NewRegistrations(func() time.Time { return testStart })
	e, err := NewEngine(Config{Campaign: campaign.Default(), Registrations: regs, Now: func() time.Time { return testStart }})
	if err != nil {
		t.Fatal(err)
	}
	inputs := (&convo{userID: "u"}).happyInputs()
	inputs = append(inputs, press("r:review:submit"))
	errs := make(chan error, 20)
	for i := range 20 {
		go func() {
			sess := Session{Channel: "telegram", ChatID: fmt.Sprint(i)}
			var st State
			for _, in := range inputs {
				in.UserID, in.ClientLanguage = "u", []string{"vi", "en"}[i%2]
				if in.Kind == KindContact {
					in.Contact = &SharedContact{Phone: "84912345678", UserID: "u"}
				}
				var err error
				if st, _, err = e.Handle(context.Background(), sess, st, in); err != nil {
					errs <- err
					return
				}
			}
			if st.Flow != "" {
				errs <- fmt.Errorf("chat %d ended at %+v", i, st)
				return
			}
			errs <- nil
		}()
	}
	for range 20 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if len(regs.All()) != 20 {
		t.Errorf("%d registrations", len(regs.All()))
	}
}

// TestTypicalFamilyIsShort measures a registration of a typical family (two circumstances, two
// needs) from /start to the code: at most 12 messages from the parent and 12 new messages from
// the bot (a message edited in place, a tick, is not a new one). A message answers two questions
// where they go together (the child's name and birth date; the grade and school; the address and
// its ward), and lists are typed; a family that presses every tick takes longer, as logged.
func TestTypicalFamilyIsShort(t *testing.T) {
	start := []Input{cmd("start", "dangky"), press("r:consent:yes"), text("Nguyễn Thị Lan"), contact("84912345678", "1001")}
	end := []Input{text("hộ nghèo, khó khăn do covid"), press("r:device_situation:none"), text("máy tính bảng, sim 4g"), press("r:review:submit")}
	families := []struct {
		name   string
		inputs []Input
		short  bool // held to 12 and 12
	}{
		{"ward typed with the address", slices.Concat(start, []Input{
			text("Trần Minh Khang, 05/09/2012"), press("r:grade:3"), text("Trường Tiểu học Linh Trung"),
			text("12 đường số 5, khu phố 3, P. Linh Trung"),
		}, end), true},
		{"ward pressed, grade typed with the school", slices.Concat(start, []Input{
			text("Trần Minh Khang 5/9/2012"), text("lớp 3, Trường Tiểu học Linh Trung"), press("r:ward:26800"),
			text("12 đường số 5, khu phố 3"),
		}, end), true},
		{"every answer on its own, every tick pressed", slices.Concat(start, []Input{
			text("Trần Minh Khang"), text("05/09/2012"), press("r:grade:3"), text("Trường Tiểu học Linh Trung"),
			press("r:ward:26800"), text("12 đường số 5, khu phố 3"),
			press("r:circumstances:poor"), press("r:circumstances:covid_hardship"), press("r:circumstances:!done"),
			press("r:device_situation:none"),
			press("r:needs:tablet"), press("r:needs:sim_4g"), press("r:needs:!done"),
			press("r:review:submit"),
		}), false},
	}
	for _, fam := range families {
		t.Run(fam.name, func(t *testing.T) {
			c := newChat(t)
			messages := 0
			for _, in := range fam.inputs {
				for _, o := range c.send(in) {
					if !o.Replace {
						messages++
					}
				}
			}
			if len(c.regs.All()) != 1 {
				t.Fatalf("not registered: %+v", c.st)
			}
			r := c.regs.All()[0]
			if r.WardCode != "26800" || r.Grade != 3 || r.Level != campaign.LevelPrimary || len(r.Circumstances) != 2 ||
				len(r.Needs) != 2 || r.Address == "" || r.School != "Trường Tiểu học Linh Trung" || r.BirthDate.Year() != 2012 {
				t.Errorf("stored %+v", r)
			}
			t.Logf("%s: %d messages from the parent, %d new messages from the bot", fam.name, len(fam.inputs), messages)
			if fam.short && (len(fam.inputs) > 12 || messages > 12) {
				t.Errorf("%d exchanges and %d bot messages, want at most 12 and 12", len(fam.inputs), messages)
			}
		})
	}
}
