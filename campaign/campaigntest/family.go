package campaigntest

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/thuduc/maytinhchoem/campaign"
)

// Family is an in-memory campaign.FamilyStore over a Cases, keeping the contracts
// of campaign/family.go as storage/postgres does: the chat's registrations only, corrections at
// once before verification and as a note after (the ward's verifying staff, from the Staff,
// told), withdrawals that cancel a pending delivery and put its device back to ready and its
// stock back, a key applied before returning what it did.
type Family struct {
	cases *Cases
	staff *Staff
	// withdrawals remembers each key's withdrawal, corrected each key's correction.
	withdrawals map[string]campaign.Withdrawal
	corrected   map[string]campaign.Corrected
}

var _ campaign.FamilyStore = (*Family)(nil)

var fakeE164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// Correct implements campaign.FamilyStore.
func (f *Family) Correct(_ context.Context, code string, parent campaign.Session, c campaign.Correction, key string, notify campaign.Notify[campaign.Corrected]) (campaign.Corrected, error) {
	s := f.cases
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.call("Correct", key); err != nil {
		return campaign.Corrected{}, err
	}
	code, c.Value = normCode(code), campaign.NormalizeText(c.Value)
	if !slices.Contains(campaign.CorrectionFields, c.Field) || c.Value == "" || (c.Field == campaign.CorrectPhone && !fakeE164.MatchString(c.Value)) {
		return campaign.Corrected{}, campaign.Errorf(campaign.EINVALID, "correction: %s %q", c.Field, c.Value)
	}
	s.regs.mu.Lock()
	defer s.regs.mu.Unlock()
	r := s.reg(code)
	if r == nil || r.Channel != parent.Channel || r.ChatID != parent.ChatID {
		return campaign.Corrected{}, campaign.Errorf(campaign.ENOTFOUND, "no registration %s of this chat", code)
	}
	if done, ok := f.corrected[key+"|"+code]; ok && key != "" {
		done.Registration = *r
		return done, nil
	}
	if !r.Status.Correctable() {
		return campaign.Corrected{}, campaign.Errorf(campaign.ECONFLICT, "registration %s is %s", code, r.Status)
	}
	out := campaign.Corrected{Correction: c}
	actor := parent.Channel + ":" + parent.ChatID
	if r.Status.CorrectedDirectly() {
		switch c.Field {
		case campaign.CorrectAddress:
			r.Address = c.Value
		case campaign.CorrectPhone:
			r.ParentPhone = c.Value
		case campaign.CorrectSchool:
			r.School = c.Value
		}
		r.UpdatedAt, out.Applied = s.now(), true
		s.record(actor, "registration.correct", code, map[string]any{"status": r.Status}, map[string]any{"field": c.Field})
	} else {
		if c.Request == "" {
			return campaign.Corrected{}, campaign.Errorf(campaign.EINVALID, "correction: no request")
		}
		// As storage/postgres: a message that waits for the ward in /verify.
		s.notes[code] = append(s.notes[code], campaign.Note{At: s.now(), Actor: actor, Answer: true, Message: true, Text: c.Request})
		if s.messageAt == nil {
			s.messageAt = map[string]time.Time{}
		}
		if s.messageAt[code].IsZero() {
			s.messageAt[code] = s.now()
		}
		out.Officials = f.officials(r.WardCode)
		s.record(actor, "registration.correction_request", code, map[string]any{"status": r.Status}, map[string]any{"field": c.Field})
	}
	out.Registration = *r
	if key != "" {
		f.corrected[key+"|"+code] = out
	}
	queueNotices(s.Outbox, notify, out)
	return out, nil
}

// officials are the fake staff who verify ward, or the education office when it has none.
func (f *Family) officials(ward string) []campaign.Recipient {
	f.staff.mu.Lock()
	defer f.staff.mu.Unlock()
	var inWard, edu []campaign.Recipient
	for _, m := range f.staff.members {
		to := campaign.Recipient{Channel: m.Channel, ChatID: m.ExternalID}
		switch {
		case m.Role.NeedsWard() && m.WardCode == ward:
			inWard = append(inWard, to)
		case m.Role == campaign.RoleEducationOffice:
			edu = append(edu, to)
		}
	}
	if len(inWard) == 0 {
		inWard = edu
	}
	slices.SortFunc(inWard, func(a, b campaign.Recipient) int { return strings.Compare(a.ChatID, b.ChatID) })
	return inWard
}

// Withdraw implements campaign.FamilyStore.
func (f *Family) Withdraw(_ context.Context, code string, parent campaign.Session, by, key string, notify campaign.Notify[campaign.Withdrawal]) (campaign.Withdrawal, error) {
	s := f.cases
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.call("Withdraw", key); err != nil {
		return campaign.Withdrawal{}, err
	}
	if by == "" {
		return campaign.Withdrawal{}, campaign.Errorf(campaign.EINVALID, "withdraw: nobody")
	}
	code = normCode(code)
	s.regs.mu.Lock()
	defer s.regs.mu.Unlock()
	r := s.reg(code)
	if r == nil || r.Erased() || (parent.ChatID != "" && (r.Channel != parent.Channel || r.ChatID != parent.ChatID)) {
		return campaign.Withdrawal{}, campaign.Errorf(campaign.ENOTFOUND, "no registration %s of this chat", code)
	}
	if w, ok := f.withdrawals[key+"|"+code]; ok && key != "" {
		w.Registration = *r
		return w, nil
	}
	next, err := r.Status.Apply(campaign.RegistrationWithdraw)
	if err != nil {
		return campaign.Withdrawal{}, fmt.Errorf("registration %s: %w", code, err)
	}
	w := campaign.Withdrawal{Before: r.Status}
	if i := slices.IndexFunc(s.deliveries, func(d campaign.Delivery) bool { return d.RegistrationCode == code }); i >= 0 {
		d := s.deliveries[i]
		if _, err := d.Status.Apply(campaign.AllocationCancel.Delivery()); err != nil {
			return campaign.Withdrawal{}, fmt.Errorf("registration %s: its delivery %s: %w", code, d.Code, err)
		}
		w.DeliveryCode, w.Stock, w.Handler = d.Code, slices.Clone(d.Stock), d.Volunteer
		for _, e := range slices.Backward(s.audit) {
			if w.Handler == "" && e.Subject == d.Code && e.Action == "delivery.failed" {
				w.Handler = e.Actor
			}
		}
		if w.Handler == "" {
			w.Handler = d.AllocatedBy
		}
		if s.moveAllocated(d.DeviceLabel, campaign.AllocationCancel) {
			w.DeviceLabel, w.DeviceType = d.DeviceLabel, d.DeviceType
		}
		for _, k := range d.Stock {
			s.stockTaken[k]--
		}
		s.deliveries = slices.Delete(s.deliveries, i, i+1)
	}
	r.Status, r.UpdatedAt = next, s.now()
	w.Registration = *r
	if key != "" {
		f.withdrawals[key+"|"+code] = w
	}
	s.record(by, "registration.withdraw", code, map[string]any{"status": w.Before, "delivery": w.DeliveryCode}, map[string]any{"status": r.Status})
	queueNotices(s.Outbox, notify, w)
	return w, nil
}

// RegistrationByCode implements campaign.FamilyStore.
func (f *Family) RegistrationByCode(_ context.Context, code string) (campaign.Registration, error) {
	return f.cases.registrationByCode("FamilyRegistration", code)
}

// Eraser is a campaign.Eraser over a Cases: the registration loses everything
// that names the family and its chat (as storage/postgres's erasure), its notes go, and the call
// is recorded.
type Eraser struct {
	mu sync.Mutex
	// Cases holds the registrations erased.
	Cases *Cases
	calls []string // "code by reason"
	// Err is returned instead of erasing; with ErrAfter it is returned after erasing (a dialog or
	// a file that could not be cleared).
	Err      error
	ErrAfter bool
}

var _ campaign.Eraser = (*Eraser)(nil)

// Erase implements campaign.Eraser.
func (e *Eraser) Erase(_ context.Context, code, by string, reason campaign.ErasureReason) (campaign.Erasure, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.calls = append(e.calls, code+" "+by+" "+string(reason))
	if e.Err != nil && !e.ErrAfter {
		return campaign.Erasure{}, e.Err
	}
	s := e.Cases
	s.mu.Lock()
	defer s.mu.Unlock()
	s.regs.mu.Lock()
	defer s.regs.mu.Unlock()
	r := s.reg(normCode(code))
	if r == nil {
		return campaign.Erasure{}, campaign.Errorf(campaign.ENOTFOUND, "no registration %s", code)
	}
	out := campaign.Erasure{Code: r.Code, Reason: reason, At: s.now(),
		Kept: campaign.ErasureKept{Status: r.Status, WardCode: r.WardCode, Level: r.Level, Grade: r.Grade}}
	if r.Erased() {
		out.Already = true
		return out, nil
	}
	out.Family = campaign.Session{Channel: r.Channel, ChatID: r.ChatID}
	out.Erased.Notes = len(s.notes[r.Code])
	delete(s.notes, r.Code)
	r.ParentName, r.ParentPhone, r.StudentName, r.BirthDate = "", "", "", time.Time{}
	r.School, r.Address, r.CircumstanceOther, r.RejectReason, r.ChatID, r.UserID = "", "", "", "", "", ""
	for i := range s.deliveries {
		if d := &s.deliveries[i]; d.RegistrationCode == r.Code {
			out.DeliveryCode, out.Kept.DeliveryStatus, out.Kept.DeviceLabel = d.Code, d.Status, d.DeviceLabel
			d.StudentName, d.ParentName, d.ParentPhone, d.Address, d.School, d.RecipientName = "", "", "", "", "", ""
			d.Parent = campaign.Session{}
		}
	}
	s.record(by, campaign.ErasureActionRegistration, r.Code, nil, map[string]any{"reason": reason})
	if e.ErrAfter {
		return out, e.Err
	}
	return out, nil
}

// NewFamily returns a family store over cases, telling the ward's verifying staff in staff.
func NewFamily(cases *Cases, staff *Staff) *Family {
	return &Family{cases: cases, staff: staff, withdrawals: map[string]campaign.Withdrawal{}, corrected: map[string]campaign.Corrected{}}
}

// Calls lists the Erase calls, as "code by reason".
func (e *Eraser) Calls() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.calls)
}
