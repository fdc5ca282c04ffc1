package campaigntest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/thuduc/maytinhchoem/campaign"
)

// Registrations is an in-memory campaign.RegistrationStore.
type Registrations struct {
	mu   sync.Mutex
	regs []campaign.Registration
	// SubmitErr and ListErr, when set, are returned instead of doing the work.
	SubmitErr, ListErr error
	// DuplicateOf is put in PossibleDuplicateOf of new registrations.
	DuplicateOf []string
	submits     int
	now         func() time.Time
}

var _ campaign.RegistrationStore = (*Registrations)(nil)

// NewRegistrations returns an empty store whose clock is now.
func NewRegistrations(now func() time.Time) *Registrations { return &Registrations{now: now} }

// SubmitRegistration implements campaign.RegistrationStore.
func (s *Registrations) SubmitRegistration(_ context.Context, r *campaign.Registration) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.submits++
	if s.SubmitErr != nil {
		return false, s.SubmitErr
	}
	for _, old := range s.regs {
		if old.IdempotencyKey == r.IdempotencyKey {
			*r = old
			return false, nil
		}
	}
	r.ID = int64(len(s.regs) + 1)
	r.Code = fmt.Sprintf("TD-%06d", r.ID)
	r.Status = campaign.StatusSubmitted
	r.StudentID = r.ID
	r.PossibleDuplicateOf = s.DuplicateOf
	r.CreatedAt, r.UpdatedAt = s.now(), s.now()
	s.regs = append(s.regs, *r)
	return true, nil
}

// RegistrationsByChat implements campaign.RegistrationStore.
func (s *Registrations) RegistrationsByChat(_ context.Context, channel, chatID string) ([]campaign.Registration, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ListErr != nil {
		return nil, s.ListErr
	}
	var out []campaign.Registration
	for _, r := range slices.Backward(s.regs) {
		if r.Channel == channel && r.ChatID == chatID {
			out = append(out, r)
		}
	}
	return out, nil
}

// All returns the registrations stored, oldest first.
func (s *Registrations) All() []campaign.Registration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.regs)
}

// Append stores rs as they are, with no code or timestamps made.
func (s *Registrations) Append(rs ...campaign.Registration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.regs = append(s.regs, rs...)
}

// Edit changes the stored registrations in place, oldest first.
func (s *Registrations) Edit(change func(regs []campaign.Registration)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	change(s.regs)
}

// Submits counts the SubmitRegistration calls.
func (s *Registrations) Submits() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.submits
}

// Contacts records upserted contacts.
type Contacts struct {
	mu       sync.Mutex
	contacts []campaign.Contact
	// Err, when set, is returned by UpsertContact instead of recording.
	Err error
}

var _ campaign.ContactStore = (*Contacts)(nil)

// UpsertContact implements campaign.ContactStore.
func (s *Contacts) UpsertContact(_ context.Context, c campaign.Contact) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Err != nil {
		return s.Err
	}
	s.contacts = append(s.contacts, c)
	return nil
}

// SetContactStopped implements campaign.ContactStore; it does nothing.
func (s *Contacts) SetContactStopped(context.Context, string, string, bool) error { return nil }

// All returns the contacts upserted, in order.
func (s *Contacts) All() []campaign.Contact {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.contacts)
}

// Pledges is an in-memory campaign.PledgeStore.
type Pledges struct {
	mu      sync.Mutex
	pledges []campaign.Pledge
	// progress adds where a pledge's items are, by code.
	progress map[string]campaign.PledgeProgress
	// SubmitErr and ListErr, when set, are returned instead of doing the work.
	SubmitErr, ListErr error
	submits            int
	now                func() time.Time
}

var _ campaign.PledgeStore = (*Pledges)(nil)

// NewPledges returns an empty store whose clock is now.
func NewPledges(now func() time.Time) *Pledges { return &Pledges{now: now} }

// SubmitPledge implements campaign.PledgeStore.
func (s *Pledges) SubmitPledge(_ context.Context, p *campaign.Pledge) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.submits++
	if s.SubmitErr != nil {
		return false, s.SubmitErr
	}
	for _, old := range s.pledges {
		if old.IdempotencyKey == p.IdempotencyKey {
			*p = old
			return false, nil
		}
	}
	p.ID = int64(len(s.pledges) + 45)
	p.Code = fmt.Sprintf("PL-%06d", p.ID)
	p.Status = campaign.PledgeOpen
	p.CreatedAt, p.UpdatedAt = s.now(), s.now()
	s.pledges = append(s.pledges, *p)
	return true, nil
}

// PledgeByCode implements campaign.PledgeStore.
func (s *Pledges) PledgeByCode(_ context.Context, code string) (campaign.Pledge, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.pledges {
		if p.Code == code {
			return p, nil
		}
	}
	return campaign.Pledge{}, campaign.Errorf(campaign.ENOTFOUND, "pledge %s", code)
}

// PledgesByChat implements campaign.PledgeStore, with the progress SetProgress gave.
func (s *Pledges) PledgesByChat(_ context.Context, channel, chatID string) ([]campaign.PledgeProgress, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ListErr != nil {
		return nil, s.ListErr
	}
	var out []campaign.PledgeProgress
	for _, p := range slices.Backward(s.pledges) {
		if p.Channel != channel || p.ChatID != chatID {
			continue
		}
		pp := s.progress[p.Code]
		pp.Pledge = p
		out = append(out, pp)
	}
	return out, nil
}

// All returns the pledges stored, oldest first.
func (s *Pledges) All() []campaign.Pledge {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.pledges)
}

// Append stores ps as they are, with no code or timestamps made.
func (s *Pledges) Append(ps ...campaign.Pledge) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pledges = append(s.pledges, ps...)
}

// Edit changes the stored pledges in place, oldest first.
func (s *Pledges) Edit(change func(pledges []campaign.Pledge)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	change(s.pledges)
}

// SetProgress makes PledgesByChat show pledge code's items where p says (its Pledge ignored).
func (s *Pledges) SetProgress(code string, p campaign.PledgeProgress) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.progress == nil {
		s.progress = map[string]campaign.PledgeProgress{}
	}
	s.progress[code] = p
}

// Submits counts the SubmitPledge calls.
func (s *Pledges) Submits() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.submits
}

// Update changes the registration code in place, reporting whether there is one.
func (s *Registrations) Update(code string, change func(*campaign.Registration)) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.regs {
		if s.regs[i].Code == code {
			change(&s.regs[i])
			return true
		}
	}
	return false
}
