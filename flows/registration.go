package flows

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/thuduc/maytinhchoem/campaign"
)

func init() {
	registerFlow(flowSpec{
		name:    FlowRegistration,
		actions: []flowAction{{name: "register", run: fn0(regTurn.register)}},
		welcome: []flowWelcome{{row: 10, text: "common.btn_register", action: "register"}},
		setup:   setupRegistration,
	})
}

// setupRegistration adds the registration form to e, and the deep links that start it
// (/start dangky, /start register).
func setupRegistration(e *Engine) error {
	reg := registrationForm(e.cfg.Campaign)
	start := func(c *turn, _ string) error { return c.startOrOffer(reg) }
	e.deepLinks = append(e.deepLinks, deepLink{payload: "dangky", handle: start}, deepLink{payload: "register", handle: start})
	return e.addForm(reg)
}

// FlowRegistration is the State.Flow of a parent registering a child for a device.
const FlowRegistration = "registration"

// Steps of the registration, in the order they are asked; each is also the answer's key.
const (
	stepConsent         = "consent"
	stepParentName      = "parent_name"
	stepPhone           = "phone"
	stepStudentName     = "student_name"
	stepBirthDate       = "birth_date"
	stepGrade           = "grade"
	stepGradeCheck      = "grade_check"
	stepSchool          = "school"
	stepWard            = "ward"
	stepAddress         = "address"
	stepCircumstances   = "circumstances"
	stepOtherText       = "other_text"
	stepDeviceSituation = "device_situation"
	stepNeeds           = "needs"
	// stepLevel is no question: the grade says the level, kept beside it in the answers (and
	// the step of states saved when the level was asked first).
	stepLevel = "level"
)

// Button values of the registration's own controls and choices.
const (
	ctlUseLast        = "!last" // the parent's name from the last registration
	consentYes        = "yes"
	consentNo         = "no"
	gradeCheckYes     = "yes"
	gradeCheckFix     = "fix"
	circumstancesNone = "none" // "none of these": stored as no circumstance
)

// gradeYearsOff is how far a child's birth year may be from the usual one of their grade
// (campaign.UsualBirthYear) before the grade is asked to be confirmed: a year early or late is
// common, a child who repeated or started late two years is not rare, more is worth a look.
const gradeYearsOff = 2

// Message ids of the choices, by value.
var (
	levelLabels = map[campaign.SchoolLevel][2]string{ // label, typed words
		campaign.LevelPrimary:        {"reg.level.primary", "reg.level.primary_words"},
		campaign.LevelLowerSecondary: {"reg.level.lower_secondary", "reg.level.lower_secondary_words"},
		campaign.LevelUpperSecondary: {"reg.level.upper_secondary", "reg.level.upper_secondary_words"},
	}
	circumstanceLabels = map[campaign.Circumstance]string{
		campaign.CircumstancePoor:            "reg.circumstances.poor",
		campaign.CircumstanceNearPoor:        "reg.circumstances.near_poor",
		campaign.CircumstanceOrphanOneCovid:  "reg.circumstances.orphan_one_covid",
		campaign.CircumstanceOrphanBothCovid: "reg.circumstances.orphan_both_covid",
		campaign.CircumstanceCovidHardship:   "reg.circumstances.covid_hardship",
		campaign.CircumstanceOther:           "reg.circumstances.other",
	}
	circumstanceWords = map[campaign.Circumstance]string{
		campaign.CircumstancePoor:            "reg.circumstances.poor_words",
		campaign.CircumstanceNearPoor:        "reg.circumstances.near_poor_words",
		campaign.CircumstanceOrphanOneCovid:  "reg.circumstances.orphan_one_covid_words",
		campaign.CircumstanceOrphanBothCovid: "reg.circumstances.orphan_both_covid_words",
		campaign.CircumstanceCovidHardship:   "reg.circumstances.covid_hardship_words",
		campaign.CircumstanceOther:           "reg.circumstances.other_words",
	}
	situationLabels = map[campaign.DeviceSituation]string{
		campaign.SituationNone:        "reg.device_situation.none",
		campaign.SituationSharesPhone: "reg.device_situation.shares_phone",
		campaign.SituationBroken:      "reg.device_situation.broken",
	}
	needLabels = map[campaign.Need]string{
		campaign.NeedLaptop:          "reg.needs.laptop",
		campaign.NeedDesktop:         "reg.needs.desktop",
		campaign.NeedTablet:          "reg.needs.tablet",
		campaign.NeedSmartphone:      "reg.needs.smartphone",
		campaign.NeedSIM4G:           "reg.needs.sim_4g",
		campaign.NeedUSBWiFi:         "reg.needs.usb_wifi",
		campaign.NeedInternetPackage: "reg.needs.internet_package",
	}
	needWords = map[campaign.Need]string{
		campaign.NeedLaptop:          "reg.needs.laptop_words",
		campaign.NeedDesktop:         "reg.needs.desktop_words",
		campaign.NeedTablet:          "reg.needs.tablet_words",
		campaign.NeedSmartphone:      "reg.needs.smartphone_words",
		campaign.NeedSIM4G:           "reg.needs.sim_4g_words",
		campaign.NeedUSBWiFi:         "reg.needs.usb_wifi_words",
		campaign.NeedInternetPackage: "reg.needs.internet_package_words",
	}
)

// registrationForm is the form a parent fills in to ask for a device for one child.
func registrationForm(camp *campaign.Campaign) *form { return registrationFormFor(camp, false) }

// registrationFormFor is the registration form; assisted makes the variant staff fill in on a
// family's behalf (assist.go): its own name and button prefix, the consent witnessed in person,
// the family's phone optional, and the ward and school fixed by the staff member's scope.
func registrationFormFor(camp *campaign.Campaign, assisted bool) *form {
	f := &form{
		name:        FlowRegistration,
		prefix:      "r",
		reviewLabel: "reg.review.label",
		reviewTitle: "reg.review.title",
		reviewHint:  "reg.review.hint",
		reviewHelp:  "reg.review.help",
		submitLabel: "reg.review.submit",
		submit:      fn1(regTurn.submitRegistration),
		main:        true,
		start:       fn1(regTurn.startInWindow),
	}
	f.fields = slices.Concat(
		regConsentFields(camp),
		regParentFields(),
		regChildFields(camp),
		regGradeFields(camp, f),
		regHomeFields(camp),
		regCircumstanceFields(),
		regNeedFields(),
	)
	if assisted {
		assistVariant(f)
	}
	return f
}

// startInWindow begins form f only inside the campaign's registration window; outside it the
// family is told when registration opens or that it closed (registrationOpen).
func (c regTurn) startInWindow(f *form) error {
	if !c.registrationOpen() {
		return nil
	}
	c.openForm(f)
	return c.advance(f)
}

// freeText reads a free text of minLen to maxLen characters (parseFreeText) as a field's parse.
func freeText(minLen, maxLen int) func(*turn, string) (string, error) {
	return func(_ *turn, s string) (string, error) { return parseFreeText(s, minLen, maxLen) }
}

// parseNameAnswer reads a person's name (parseName) as a field's parse.
func parseNameAnswer(_ *turn, s string) (string, error) { return parseName(s) }

// regConsentFields ask the parent's consent first, before any personal data: what the campaign
// keeps, who keeps it and until when. A refusal ends the form; what is kept of a yes is when it
// was given. The assisted variant changes its words (assistVariant).
func regConsentFields(camp *campaign.Campaign) []*field {
	return []*field{{
		name: stepConsent, kind: kindChoice, fixed: true, columns: 2,
		label: "reg.consent.label", prompt: "reg.consent.prompt", help: "reg.consent.help",
		promptData: func(c *turn) map[string]any {
			// The last day kept: RetentionEnd is the first moment past it.
			kept := camp.RetentionEnd().Add(-time.Nanosecond).In(camp.Location)
			return map[string]any{"Campaign": camp.Name.In(c.lang), "Organizer": camp.Organizer.In(c.lang),
				"KeptUntil": kept.Format(dateShownAs), "Months": camp.RetentionMonths}
		},
		options: func(*turn) []option {
			return []option{
				{value: consentYes, label: "reg.consent.yes", words: "reg.consent.yes_words"},
				{value: consentNo, label: "reg.consent.no", words: "reg.consent.no_words"},
			}
		},
		accepted: func(c *turn, v string) bool {
			if v == consentNo {
				c.toIdle()
				c.say(c.t("reg.consent.declined"))
				return true
			}
			// What is kept is when the parent agreed.
			c.st.Answers[stepConsent] = c.now.UTC().Format(time.RFC3339)
			return false
		},
	}}
}

// regParentFields ask who registers: the parent's name (the last registration's offered as a
// button, for a second child) and the phone by which officials reach the family. A phone a list
// or staff already registered a child with is offered to be claimed instead (claim.go).
func regParentFields() []*field {
	return []*field{
		{
			name: stepParentName, kind: kindText, parse: parseNameAnswer,
			label: "reg.parent_name.label", prompt: "reg.parent_name.prompt", help: "reg.parent_name.help",
			extra: func(c *turn, f *form) [][]Button {
				last := c.st.Answers[lastPrefix+stepParentName]
				if last == "" || c.st.Editing {
					return nil
				}
				return [][]Button{{{Text: c.t("reg.parent_name.use_last", "Name", last), Data: f.data(stepParentName, ctlUseLast)}}}
			},
			control: func(c *turn, f *form, v string) (bool, error) {
				last := c.st.Answers[lastPrefix+stepParentName]
				if v != ctlUseLast || last == "" {
					return false, nil
				}
				c.notice = c.t("common.chosen", "Label", last)
				return true, c.accept(f, f.field(stepParentName), last)
			},
		},
		{
			name: stepPhone, kind: kindPhone,
			label: "reg.phone.label", prompt: "reg.phone.prompt", help: "reg.phone.help",
			parse:   func(_ *turn, s string) (string, error) { return parsePhone(s) },
			display: func(_ *turn, v string) string { return phoneDisplay(v) },
			accepted: func(c *turn, v string) bool {
				// Said with the next question, not in a message of its own.
				c.lead = c.t("reg.phone.saved", "Phone", phoneDisplay(v))
				return false
			},
			// A school's or ward's list, or staff on the family's behalf, may have registered a
			// child with this phone: the family is offered to claim it instead (claim.go).
			after: func(c *turn, v string) (bool, error) { return claimTurn{c}.claimOffer(v, true) },
		},
	}
}

// regChildFields ask who the child is: their name and birth date. With the ward they tell one
// child from another: a second registration of the same child is flagged to officials.
func regChildFields(camp *campaign.Campaign) []*field {
	return []*field{
		{
			// The name may come with the birth date, as on a birth certificate: one message.
			name: stepStudentName, kind: kindText, parse: parseNameAnswer,
			label: "reg.student_name.label", prompt: "reg.student_name.prompt", help: "reg.student_name.help",
			more: func(_ *turn, s string) (string, string) { return splitNameDate(s) }, then: stepBirthDate,
		},
		{
			name: stepBirthDate, kind: kindText, clears: []string{stepGradeCheck},
			label: "reg.birth_date.label", prompt: "reg.birth_date.prompt", help: "reg.birth_date.help",
			parse: func(c *turn, s string) (string, error) {
				d, err := parseBirthDate(s, c.now, camp)
				if err != nil {
					return "", err
				}
				return d.Format(dateLayout), nil
			},
			display: func(_ *turn, v string) string {
				d, err := time.Parse(dateLayout, v)
				if err != nil {
					return v
				}
				return d.Format(dateShownAs)
			},
		},
	}
}

// regGradeFields ask where the child studies: the grade, which says the school level, a check of
// a grade more than gradeYearsOff from the birth date's usual one, and the school. A "fix" on the
// check asks the grade of form f again in its place.
func regGradeFields(camp *campaign.Campaign, f *form) []*field {
	return []*field{
		{
			// One question for grade and level: the grade says the level. The school may come
			// with it ("lớp 4, Tiểu học Linh Trung").
			name: stepGrade, kind: kindChoice, rowSizes: gradeRows(), clears: []string{stepGradeCheck},
			label: "reg.grade.label", prompt: "reg.grade.prompt", help: "reg.grade.help",
			formerly: []string{stepLevel},
			options:  gradeOptions,
			parse: func(_ *turn, s string) (string, error) {
				g, err := parseGrade(s)
				if err != nil {
					return "", err
				}
				return strconv.Itoa(g), nil
			},
			display: gradeShown,
			accepted: func(c *turn, v string) bool {
				g, _ := strconv.Atoi(v)
				if level, ok := levelOfGrade(g); ok {
					c.st.Answers[stepLevel] = string(level)
				}
				return false
			},
			more: splitGradeSchool, then: stepSchool,
		},
		{
			// Asked once when the grade is far from the birth date's usual one; not on the review.
			name: stepGradeCheck, kind: kindChoice, fixed: true, columns: 2,
			label: "reg.grade.label", prompt: "reg.grade_check.prompt", help: "reg.grade_check.help",
			needed: func(a map[string]string) bool { return gradeUnusual(camp, a) },
			promptData: func(c *turn) map[string]any {
				birth, _ := time.Parse(dateLayout, c.st.Answers[stepBirthDate])
				g, _ := strconv.Atoi(c.st.Answers[stepGrade])
				return map[string]any{"Year": birth.Year(), "Grade": g, "Usual": camp.UsualBirthYear(g), "SchoolYear": camp.SchoolYear()}
			},
			options: func(c *turn) []option {
				g, _ := strconv.Atoi(c.st.Answers[stepGrade])
				return []option{
					{value: gradeCheckYes, label: "reg.grade_check.yes", data: map[string]any{"Grade": g}, words: "reg.grade_check.yes_words"},
					{value: gradeCheckFix, label: "reg.grade_check.fix", words: "reg.grade_check.fix_words"},
				}
			},
			accepted: func(c *turn, v string) bool {
				if v != gradeCheckFix {
					return false
				}
				delete(c.st.Answers, stepGradeCheck)
				delete(c.st.Answers, stepGrade)
				delete(c.st.Answers, stepLevel)
				// The grade's question takes the place of the one pressed.
				c.st.Step = stepGrade
				c.ask(f, f.field(stepGrade), "", c.in.Kind == KindChoice)
				return true
			},
		},
		{
			name: stepSchool, kind: kindText, parse: freeText(schoolMin, schoolMax),
			label: "reg.school.label", prompt: "reg.school.prompt", help: "reg.school.help",
		},
	}
}

// gradeOptions offers a button for each grade, 1 to gradeMaxTyped.
func gradeOptions(*turn) []option {
	var opts []option
	for g := 1; g <= gradeMaxTyped; g++ {
		opts = append(opts, option{value: strconv.Itoa(g), label: "reg.grade.button", data: map[string]any{"Grade": g}})
	}
	return opts
}

// gradeShown shows a grade with its school level, "4 (Tiểu học)": the level's name without its grades.
func gradeShown(c *turn, v string) string {
	g, _ := strconv.Atoi(v)
	level, ok := levelOfGrade(g)
	if !ok {
		return v
	}
	name, _, _ := strings.Cut(c.t(levelLabels[level][0]), " (")
	return c.t("reg.grade.shown", "Grade", g, "Level", name)
}

// regHomeFields ask where the family lives: the ward, one of the campaign's (paged buttons),
// whose officials look after the registration, and the address within it.
func regHomeFields(camp *campaign.Campaign) []*field {
	return []*field{
		{
			name: stepWard, kind: kindWard, addressField: stepAddress,
			label: "reg.ward.label", prompt: "reg.ward.prompt", help: "reg.ward.help",
			promptData: func(c *turn) map[string]any {
				page, pages := c.wardPage()
				return map[string]any{"Page": page + 1, "Pages": pages}
			},
			display: func(c *turn, v string) string {
				if w, ok := camp.Ward(v); ok {
					return w.DisplayName(c.lang)
				}
				return v
			},
		},
		{
			name: stepAddress, kind: kindText, parse: freeText(addressMin, addressMax),
			label: "reg.address.label", prompt: "reg.address.prompt", help: "reg.address.help",
		},
	}
}

// regCircumstanceFields ask the family's circumstances (poor, near-poor, orphaned by COVID, …),
// by which the campaign's priority rules rank who is given a device first, and an "other" one
// in words.
func regCircumstanceFields() []*field {
	return []*field{
		{
			// "None of these" is a choice of its own, excluding the others.
			name: stepCircumstances, kind: kindMulti, columns: 1, minPicks: 1,
			noneReason: "reg.err.circumstances_none",
			label:      "reg.circumstances.label", prompt: "reg.circumstances.prompt", help: "reg.circumstances.help",
			options: func(c *turn) []option {
				opts := enumOptions(campaign.Circumstances, circumstanceLabels, circumstanceWords)(c)
				return append(opts, option{value: circumstancesNone, label: "reg.circumstances.none", words: "reg.circumstances.none_words", exclusive: true})
			},
			display: func(c *turn, v string) string {
				return regTurn{c}.listLabels(v, func(s string) string {
					if s == circumstancesNone {
						return "reg.circumstances.none"
					}
					return circumstanceLabels[campaign.Circumstance(s)]
				})
			},
		},
		{
			name: stepOtherText, kind: kindText, parse: freeText(otherTextMin, otherTextMax),
			label: "reg.other_text.label", prompt: "reg.other_text.prompt", help: "reg.other_text.help",
			needed: func(a map[string]string) bool {
				return slices.Contains(strings.Split(a[stepCircumstances], ","), string(campaign.CircumstanceOther))
			},
		},
	}
}

// regNeedFields ask what the child studies with now (which orders children whose circumstances
// weigh the same) and what they need: a device, a SIM, internet.
func regNeedFields() []*field {
	return []*field{
		{
			name: stepDeviceSituation, kind: kindChoice, columns: 1,
			label: "reg.device_situation.label", prompt: "reg.device_situation.prompt", help: "reg.device_situation.help",
			options: enumOptions(campaign.DeviceSituations, situationLabels, nil),
			display: func(c *turn, v string) string { return c.t(situationLabels[campaign.DeviceSituation(v)]) },
		},
		{
			name: stepNeeds, kind: kindMulti, columns: 2, minPicks: 1,
			noneReason: "reg.err.needs_none",
			label:      "reg.needs.label", prompt: "reg.needs.prompt", help: "reg.needs.help",
			options: enumOptions(campaign.Needs, needLabels, needWords),
			display: func(c *turn, v string) string {
				return regTurn{c}.listLabels(v, func(s string) string { return needLabels[campaign.Need(s)] })
			},
		},
	}
}

// enumOptions offers the values of a domain enumeration, in its order, by their message ids
// (labels, and words that choose them when typed; words may be nil).
func enumOptions[T ~string](values []T, labels, words map[T]string) func(*turn) []option {
	return func(*turn) []option {
		opts := make([]option, 0, len(values))
		for _, v := range values {
			opts = append(opts, option{value: string(v), label: labels[v], words: words[v]})
		}
		return opts
	}
}

// splitGradeSchool splits "lớp 4, Tiểu học Linh Trung" into the grade and the school: the
// fewest words in front that read as a grade, and the rest, unless the rest only names a school
// level ("lớp 4 tiểu học"), which the grade already says.
func splitGradeSchool(c *turn, s string) (grade, school string) {
	if len(s) > inputMax {
		return s, ""
	}
	words := strings.Fields(strings.ReplaceAll(s, ",", ", "))
	for k := 1; k < len(words) && k <= 3; k++ {
		g := strings.TrimRight(strings.Join(words[:k], " "), ",;:.-–")
		if _, err := parseGrade(g); err != nil {
			continue
		}
		rest := strings.TrimLeft(strings.Join(words[k:], " "), ",;:.-– ")
		var levels []option
		for _, l := range campaign.SchoolLevels {
			levels = append(levels, option{value: string(l), label: levelLabels[l][0], words: levelLabels[l][1]})
		}
		if _, ok := c.matchOption(levels, rest); ok {
			return g, ""
		}
		return g, rest
	}
	return s, ""
}

// gradeRows lays the grade buttons out one school level a row: 1-5, 6-9, 10-12.
func gradeRows() []int {
	var sizes []int
	for _, l := range campaign.SchoolLevels {
		first, last, _ := l.Grades()
		sizes = append(sizes, last-first+1)
	}
	return sizes
}

// levelOfGrade is the school level grade belongs to.
func levelOfGrade(grade int) (campaign.SchoolLevel, bool) {
	for _, l := range campaign.SchoolLevels {
		if l.HasGrade(grade) {
			return l, true
		}
	}
	return "", false
}

// gradeUnusual reports whether the answers' grade is more than gradeYearsOff years from the
// usual one of a child born when the answers say, in the campaign's school year.
func gradeUnusual(camp *campaign.Campaign, a map[string]string) bool {
	birth, err := time.Parse(dateLayout, a[stepBirthDate])
	if err != nil {
		return false
	}
	g, err := strconv.Atoi(a[stepGrade])
	if err != nil {
		return false
	}
	off := birth.Year() - camp.UsualBirthYear(g)
	return off > gradeYearsOff || off < -gradeYearsOff
}

// regTurn is a turn of the registration form; its methods are the flow's own (see flowTurn).
type regTurn struct{ *turn }

// register is the menu's "register" action: a new registration, or an offer to go on with the
// one in progress.
func (c regTurn) register() error { return c.startOrOffer(c.e.formNamed(FlowRegistration)) }

// listLabels shows a stored list ("poor,other") by the labels of its values.
func (c regTurn) listLabels(v string, label func(string) string) string {
	var names []string
	for _, s := range strings.Split(v, ",") {
		if id := label(s); id != "" {
			names = append(names, c.t(id))
		}
	}
	return strings.Join(names, ", ")
}

// registration builds what is submitted from the answers; ok is false when one is missing or
// unreadable (a state from an older version), and the form then asks again.
func (c regTurn) registration() (campaign.Registration, bool) {
	a := c.st.Answers
	birth, err := time.Parse(dateLayout, a[stepBirthDate])
	if err != nil {
		delete(a, stepBirthDate)
		return campaign.Registration{}, false
	}
	grade, err := strconv.Atoi(a[stepGrade])
	level, ok := levelOfGrade(grade)
	if err != nil || !ok {
		delete(a, stepGrade)
		return campaign.Registration{}, false
	}
	consentAt, err := time.Parse(time.RFC3339, a[stepConsent])
	if err != nil {
		delete(a, stepConsent)
		return campaign.Registration{}, false
	}
	r := campaign.Registration{
		CampaignID:        c.e.cfg.Campaign.ID,
		Channel:           c.sess.Channel,
		ChatID:            c.sess.ChatID,
		UserID:            c.in.UserID,
		Language:          c.lang,
		ParentName:        campaign.NormalizeText(a[stepParentName]),
		ParentPhone:       a[stepPhone],
		StudentName:       campaign.NormalizeText(a[stepStudentName]),
		BirthDate:         time.Date(birth.Year(), birth.Month(), birth.Day(), 0, 0, 0, 0, time.UTC),
		Level:             level,
		Grade:             grade,
		School:            campaign.NormalizeText(a[stepSchool]),
		WardCode:          a[stepWard],
		Address:           campaign.NormalizeText(a[stepAddress]),
		CircumstanceOther: campaign.NormalizeText(a[stepOtherText]),
		DeviceSituation:   campaign.DeviceSituation(a[stepDeviceSituation]),
		IdempotencyKey:    c.st.IdempotencyKey,
		ConsentAt:         consentAt,
	}
	for _, s := range strings.Split(a[stepCircumstances], ",") {
		if s != "" && s != circumstancesNone {
			r.Circumstances = append(r.Circumstances, campaign.Circumstance(s))
		}
	}
	for _, s := range strings.Split(a[stepNeeds], ",") {
		r.Needs = append(r.Needs, campaign.Need(s))
	}
	return r, true
}

// submitRegistration sends the reviewed form. A retried submit carries the same idempotency key
// and gets the same record back, so the parent sees the same code.
func (c regTurn) submitRegistration(f *form) error {
	if f.firstMissing(c.st.Answers) != nil {
		return c.advance(f)
	}
	r, ok := c.registration()
	if !ok {
		return c.advance(f)
	}
	submitted, err := c.submitOnce(f, &r.IdempotencyKey, "reg.submit_invalid", func() error {
		_, err := c.e.cfg.Registrations.SubmitRegistration(c.ctx, &r)
		return err
	})
	if !submitted || err != nil {
		return err
	}
	parent, phone := c.st.Answers[stepParentName], c.st.Answers[stepPhone]
	c.toIdle()
	c.st.Answers[lastPrefix+stepParentName] = parent
	c.st.Answers[lastPrefix+stepPhone] = phone
	text := c.t("reg.submitted", "Code", r.Code, "Student", r.StudentName, "Phone", phoneDisplay(r.ParentPhone))
	if len(r.PossibleDuplicateOf) > 0 {
		// Other families' codes are not shown: officials look into it.
		text += "\n\n" + c.t("reg.duplicate")
	}
	c.out = append(c.out, Output{Text: text, Buttons: [][]Button{
		{{Text: c.t("reg.btn_another"), Data: "g:register"}},
		{{Text: c.t("common.btn_status"), Data: "g:status"}},
	}})
	return nil
}
