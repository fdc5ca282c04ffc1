package campaigntest

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/thuduc/maytinhchoem/campaign"
)

// Claims is an in-memory campaign.ClaimStore over a Registrations, keeping the
// contract storage/postgres keeps: registrations made by staff without a chat, holding the phone,
// not withdrawn, are claimable; wrong dates count per phone (a retried key once), the
// ClaimTriesMax-th blocks the phone; a registration another chat claimed is Taken.
type Claims struct {
	mu       sync.Mutex
	regs     *Registrations
	now      func() time.Time
	failures map[string]int
	lastKey  map[string]string
	audit    []string
}

var _ campaign.ClaimStore = (*Claims)(nil)

// claimable reports whether a family with phone may claim r.
func claimable(r campaign.Registration, phone string) bool {
	return r.ParentPhone == phone && r.ChatID == "" && r.RegisteredBy != "" && r.Status != campaign.StatusWithdrawn
}

// Unclaimed implements campaign.ClaimStore.
func (s *Claims) Unclaimed(_ context.Context, phone string) (int, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failures[phone] >= campaign.ClaimTriesMax {
		return 0, true, nil
	}
	s.regs.mu.Lock()
	defer s.regs.mu.Unlock()
	n := 0
	for _, r := range s.regs.regs {
		if claimable(r, phone) {
			n++
		}
	}
	return n, false, nil
}

// Claim implements campaign.ClaimStore.
func (s *Claims) Claim(_ context.Context, r campaign.ClaimRequest) (campaign.ClaimResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var res campaign.ClaimResult
	if r.Family.ChatID == "" || r.BirthDate.IsZero() {
		return res, campaign.Errorf(campaign.EINVALID, "claim: no chat or date")
	}
	res.Failures = s.failures[r.Phone]
	if res.Failures >= campaign.ClaimTriesMax {
		res.Blocked = true
		return res, nil
	}
	s.regs.mu.Lock()
	defer s.regs.mu.Unlock()
	found := false
	for i := range s.regs.regs {
		reg := &s.regs.regs[i]
		if reg.ParentPhone != r.Phone || reg.RegisteredBy == "" || !reg.BirthDate.Equal(r.BirthDate) || reg.Status == campaign.StatusWithdrawn {
			continue
		}
		found = true
		switch {
		case reg.ChatID == "":
			reg.Channel, reg.ChatID, reg.UserID, reg.Language = r.Family.Channel, r.Family.ChatID, r.UserID, r.Language
			if reg.ParentName == "" {
				reg.ParentName = r.ParentName
			}
			reg.Registrar, reg.ClaimedAt = nil, s.now()
			s.audit = append(s.audit, "registration.claim "+reg.Code)
			delete(s.failures, r.Phone)
			res.Failures = 0
			res.Claimed = append(res.Claimed, *reg)
		case reg.Channel == r.Family.Channel && reg.ChatID == r.Family.ChatID:
			res.Claimed = append(res.Claimed, *reg)
		default:
			res.Taken++
		}
	}
	for _, reg := range s.regs.regs {
		if claimable(reg, r.Phone) {
			res.Left++
		}
	}
	if found || (r.Key != "" && s.lastKey[r.Phone] == r.Key) {
		return res, nil
	}
	s.lastKey[r.Phone] = r.Key
	s.failures[r.Phone]++
	res.Failures = s.failures[r.Phone]
	if res.Failures >= campaign.ClaimTriesMax {
		res.Blocked, res.Left = true, 0
		for _, reg := range s.regs.regs {
			if claimable(reg, r.Phone) {
				s.audit = append(s.audit, "registration.claim_blocked "+reg.Code)
			}
		}
	}
	return res, nil
}

// ClaimBlockOf implements campaign.ClaimStore.
func (s *Claims) ClaimBlockOf(_ context.Context, phone string) (campaign.ClaimBlock, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.block(phone), nil
}

// block is where phone stands; s.mu is held.
func (s *Claims) block(phone string) campaign.ClaimBlock {
	b := campaign.ClaimBlock{Failures: s.failures[phone], Blocked: s.failures[phone] >= campaign.ClaimTriesMax}
	s.regs.mu.Lock()
	defer s.regs.mu.Unlock()
	for _, r := range s.regs.regs {
		if claimable(r, phone) {
			b.Holders = append(b.Holders, campaign.ClaimHolder{Code: r.Code, WardCode: r.WardCode, School: r.School})
		}
	}
	return b
}

// Unblock implements campaign.ClaimStore.
func (s *Claims) Unblock(_ context.Context, phone, by string) (campaign.ClaimBlock, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if by == "" {
		return campaign.ClaimBlock{}, campaign.Errorf(campaign.EINVALID, "unblock: who")
	}
	b := s.block(phone)
	if b.Failures == 0 {
		return b, nil
	}
	delete(s.failures, phone)
	delete(s.lastKey, phone)
	for _, h := range b.Holders {
		s.audit = append(s.audit, "registration.claim_unblock "+h.Code+" by "+by)
	}
	return b, nil
}

// NewClaims returns a claim store over regs, whose clock is now, with no failures.
func NewClaims(regs *Registrations, now func() time.Time) *Claims {
	return &Claims{regs: regs, now: now, failures: map[string]int{}, lastKey: map[string]string{}}
}

// AuditActions lists the audit rows written, as "action code" (an unblock adds " by who").
func (s *Claims) AuditActions() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.audit)
}

// Failures counts the wrong dates given for phone since it was last cleared.
func (s *Claims) Failures(phone string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.failures[phone]
}

// SetFailures sets the count of wrong dates given for phone.
func (s *Claims) SetFailures(phone string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures[phone] = n
}
