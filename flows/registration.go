package flows

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/thuduc/maytinhchoem/campaign"
)

// FlowRegistration is the State.Flow of a parent registering a child for a device.
const FlowRegistration = "registration"

// Steps of the registration, in the order they are asked; each is also the answer's key.
const (
	stepConsent         = "consent"
	stepParentName      = "parent_name"
	stepPhone           = "phone"
	stepStudentName     = "student_name"
	stepBirthDate       = "birth_date"
	stepLevel           = "level"
	stepGrade           = "grade"
	stepSchool          = "school"
	stepWard            = "ward"
	stepAddress         = "address"
	stepCircumstances   = "circumstances"
	stepOtherText       = "other_text"
	stepDeviceSituation = "device_situation"
	stepNeeds           = "needs"
)

// Button values of the registration's own controls.
const (
	ctlUseLast     = "!last"  // the parent's name from the last registration
	ctlChangeLevel = "!level" // back from the grade to the level
	consentYes     = "yes"
	consentNo      = "no"
)

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
)

// registrationForm is the form a parent fills in to ask for a device for one child.
func registrationForm(camp *campaign.Campaign) *form {
	f := &form{
		name:        FlowRegistration,
		prefix:      "r",
		reviewLabel: "reg.review.label",
		reviewTitle: "reg.review.title",
		reviewHint:  "reg.review.hint",
		reviewHelp:  "reg.review.help",
		submitLabel: "reg.review.submit",
		submit:      (*turn).submitRegistration,
	}
	text := func(minLen, maxLen int) func(*turn, string) (string, error) {
		return func(_ *turn, s string) (string, error) { return parseFreeText(s, minLen, maxLen) }
	}
	name := func(_ *turn, s string) (string, error) { return parseName(s) }
	f.fields = []*field{
		{
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
		},
		{
			name: stepParentName, kind: kindText, parse: name,
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
				c.say(c.t("reg.phone.saved", "Phone", phoneDisplay(v)))
				return false
			},
		},
		{
			name: stepStudentName, kind: kindText, parse: name,
			label: "reg.student_name.label", prompt: "reg.student_name.prompt", help: "reg.student_name.help",
		},
		{
			name: stepBirthDate, kind: kindText,
			label: "reg.birth_date.label", prompt: "reg.birth_date.prompt", help: "reg.birth_date.help",
			parse: func(c *turn, s string) (string, error) {
				d, err := parseBirthDate(s, c.now, camp.Location)
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
		{
			name: stepLevel, kind: kindChoice, columns: 1, clears: []string{stepGrade},
			label: "reg.level.label", prompt: "reg.level.prompt", help: "reg.level.help",
			options: func(*turn) []option {
				var opts []option
				for _, l := range campaign.SchoolLevels {
					opts = append(opts, option{value: string(l), label: levelLabels[l][0], words: levelLabels[l][1]})
				}
				return opts
			},
			display: func(c *turn, v string) string { return c.t(levelLabels[campaign.SchoolLevel(v)][0]) },
		},
		{
			name: stepGrade, kind: kindChoice, columns: 3,
			label: "reg.grade.label", prompt: "reg.grade.prompt", help: "reg.grade.help",
			options: func(c *turn) []option {
				first, last, _ := campaign.SchoolLevel(c.st.Answers[stepLevel]).Grades()
				var opts []option
				for g := first; g <= last && g > 0; g++ {
					opts = append(opts, option{value: strconv.Itoa(g), label: "reg.grade.button", data: map[string]any{"Grade": g}})
				}
				return opts
			},
			parse: func(c *turn, s string) (string, error) {
				level := campaign.SchoolLevel(c.st.Answers[stepLevel])
				g, err := parseGrade(s, level)
				if inv, ok := err.(*invalid); ok && inv.ID == "reg.err.grade_not_in_level" {
					inv.Data["Level"] = c.t(levelLabels[level][0])
				}
				if err != nil {
					return "", err
				}
				return strconv.Itoa(g), nil
			},
			extra: func(c *turn, f *form) [][]Button {
				return [][]Button{{{Text: c.t("reg.grade.change_level"), Data: f.data(stepGrade, ctlChangeLevel)}}}
			},
			control: func(c *turn, f *form, v string) (bool, error) {
				if v != ctlChangeLevel {
					return false, nil
				}
				delete(c.st.Answers, stepLevel)
				delete(c.st.Answers, stepGrade)
				return true, c.advance(f)
			},
		},
		{
			name: stepSchool, kind: kindText, parse: text(schoolMin, schoolMax),
			label: "reg.school.label", prompt: "reg.school.prompt", help: "reg.school.help",
		},
		{
			name: stepWard, kind: kindWard,
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
			name: stepAddress, kind: kindText, parse: text(addressMin, addressMax),
			label: "reg.address.label", prompt: "reg.address.prompt", help: "reg.address.help",
		},
		{
			name: stepCircumstances, kind: kindMulti, columns: 1, minPicks: 1,
			noneReason: "reg.err.circumstances_none",
			label:      "reg.circumstances.label", prompt: "reg.circumstances.prompt", help: "reg.circumstances.help",
			options: enumOptions(campaign.Circumstances, circumstanceLabels),
			display: func(c *turn, v string) string {
				return c.listLabels(v, func(s string) string { return circumstanceLabels[campaign.Circumstance(s)] })
			},
		},
		{
			name: stepOtherText, kind: kindText, parse: text(otherTextMin, otherTextMax),
			label: "reg.other_text.label", prompt: "reg.other_text.prompt", help: "reg.other_text.help",
			needed: func(a map[string]string) bool {
				return slices.Contains(strings.Split(a[stepCircumstances], ","), string(campaign.CircumstanceOther))
			},
		},
		{
			name: stepDeviceSituation, kind: kindChoice, columns: 1,
			label: "reg.device_situation.label", prompt: "reg.device_situation.prompt", help: "reg.device_situation.help",
			options: enumOptions(campaign.DeviceSituations, situationLabels),
			display: func(c *turn, v string) string { return c.t(situationLabels[campaign.DeviceSituation(v)]) },
		},
		{
			name: stepNeeds, kind: kindMulti, columns: 2, minPicks: 1,
			noneReason: "reg.err.needs_none",
			label:      "reg.needs.label", prompt: "reg.needs.prompt", help: "reg.needs.help",
			options: enumOptions(campaign.Needs, needLabels),
			display: func(c *turn, v string) string {
				return c.listLabels(v, func(s string) string { return needLabels[campaign.Need(s)] })
			},
		},
	}
	return f
}

// enumOptions offers the values of a domain enumeration, in its order, by their message ids.
func enumOptions[T ~string](values []T, labels map[T]string) func(*turn) []option {
	return func(*turn) []option {
		opts := make([]option, 0, len(values))
		for _, v := range values {
			opts = append(opts, option{value: string(v), label: labels[v]})
		}
		return opts
	}
}

// listLabels shows a stored list ("poor,other") by the labels of its values.
func (c *turn) listLabels(v string, label func(string) string) string {
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
func (c *turn) registration() (campaign.Registration, bool) {
	a := c.st.Answers
	birth, err := time.Parse(dateLayout, a[stepBirthDate])
	if err != nil {
		delete(a, stepBirthDate)
		return campaign.Registration{}, false
	}
	grade, err := strconv.Atoi(a[stepGrade])
	if err != nil {
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
		Level:             campaign.SchoolLevel(a[stepLevel]),
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
		r.Circumstances = append(r.Circumstances, campaign.Circumstance(s))
	}
	for _, s := range strings.Split(a[stepNeeds], ",") {
		r.Needs = append(r.Needs, campaign.Need(s))
	}
	return r, true
}

// submitRegistration sends the reviewed form. A retried submit carries the same idempotency key
// and gets the same record back, so the parent sees the same code.
func (c *turn) submitRegistration(f *form) error {
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
