package campaigntest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/thuduc/maytinhchoem/campaign"
)

// Staff is an in-memory campaign.StaffStore.
type Staff struct {
	mu      sync.Mutex
	now     func() time.Time
	members map[string]campaign.Staff // by "channel:id"
	invites map[string]*Invite        // by code
	n       int
	// Code, when set, makes the next invitation codes (to test codes that do not fit a link).
	Code func(n int) string
	// CreateErr, RedeemErr, LookupErr, ListErr, RevokeErr and InvitesErr are returned instead of
	// doing the work.
	CreateErr, RedeemErr, LookupErr, ListErr, RevokeErr, InvitesErr error
	redeems, revokes                                                int
	revokedBy                                                       []string
	// Outbox, when set, receives the notices of redemptions; Langs are the contacts' languages, by
	// "channel:id".
	Outbox *Outbox
	Langs  map[string]string
}

// Invite is an invitation as the store keeps it.
type Invite struct {
	ID        int64
	Role      campaign.Role
	Ward      string
	School    string
	CreatedBy string
	CreatedAt time.Time
	Expires   time.Time
	Used      bool
	UsedBy    string
	RevokedBy string
}

func (inv *Invite) invitation() campaign.Invitation {
	return campaign.Invitation{ID: inv.ID, Role: inv.Role, WardCode: inv.Ward, School: inv.School, CreatedBy: inv.CreatedBy,
		CreatedAt: inv.CreatedAt, ExpiresAt: inv.Expires, UsedBy: inv.UsedBy}
}

// open reports whether the invitation can still be redeemed.
func (s *Staff) open(inv *Invite) bool {
	return !inv.Used && inv.RevokedBy == "" && s.now().Before(inv.Expires)
}

var _ campaign.StaffStore = (*Staff)(nil)

// NewStaff returns a store with no staff and no invitations, whose clock is now.
func NewStaff(now func() time.Time) *Staff {
	return &Staff{now: now, members: map[string]campaign.Staff{}, invites: map[string]*Invite{}}
}

// CreateInvitation implements campaign.StaffStore.
func (s *Staff) CreateInvitation(_ context.Context, inv campaign.Invitation) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.CreateErr != nil {
		return "", s.CreateErr
	}
	s.n++
	code := fmt.Sprintf("Zq7-x_%03dAbC", s.n)
	if s.Code != nil {
		code = s.Code(s.n)
	}
	s.invites[code] = &Invite{ID: int64(s.n), Role: inv.Role, Ward: inv.WardCode, School: inv.School, CreatedBy: inv.CreatedBy,
		CreatedAt: s.now(), Expires: inv.ExpiresAt}
	return code, nil
}

// RedeemInvitation implements campaign.StaffStore as storage/postgres does: a role kept unless
// replace, the notices queued with the redemption.
func (s *Staff) RedeemInvitation(_ context.Context, code string, who campaign.Staff, replace bool, notify campaign.Notify[campaign.Redemption]) (campaign.Redemption, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.redeems++
	if s.RedeemErr != nil {
		return campaign.Redemption{}, s.RedeemErr
	}
	inv, ok := s.invites[code]
	if !ok || !s.open(inv) {
		return campaign.Redemption{}, campaign.Errorf(campaign.ENOTFOUND, "no usable invitation")
	}
	account := who.Channel + ":" + who.ExternalID
	r := campaign.Redemption{Invitation: inv.invitation(), Previous: s.members[account]}
	if r.Previous.Role != "" && !replace {
		r.Held = true
		return r, nil
	}
	inv.Used, inv.UsedBy = true, account
	r.Invitation = inv.invitation()
	who.Role, who.WardCode, who.School = inv.Role, inv.Ward, inv.School
	s.members[account] = who
	r.Staff = who
	if channel, id, ok := strings.Cut(inv.CreatedBy, ":"); ok {
		r.Inviter = campaign.Recipient{Channel: channel, ChatID: id, Language: s.Langs[inv.CreatedBy]}
	}
	if s.Outbox != nil {
		queueNotices(s.Outbox, notify, r)
	}
	return r, nil
}

// Invitations implements campaign.StaffStore: the open invitations, oldest first.
func (s *Staff) Invitations(context.Context) ([]campaign.Invitation, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.InvitesErr != nil {
		return nil, s.InvitesErr
	}
	out := []campaign.Invitation{}
	for _, inv := range s.invites {
		if s.open(inv) {
			out = append(out, inv.invitation())
		}
	}
	slices.SortFunc(out, func(a, b campaign.Invitation) int { return int(a.ID - b.ID) })
	return out, nil
}

// RevokeInvitation implements campaign.StaffStore.
func (s *Staff) RevokeInvitation(_ context.Context, id int64, by string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.RevokeErr != nil {
		return s.RevokeErr
	}
	for _, inv := range s.invites {
		if inv.ID == id && !inv.Used && inv.RevokedBy == "" {
			inv.RevokedBy = by
			return nil
		}
	}
	return campaign.Errorf(campaign.ENOTFOUND, "no open invitation %d", id)
}

// Invite makes an open invitation directly and returns its code.
func (s *Staff) Invite(role campaign.Role, ward, by string, expires time.Time) string {
	code, _ := s.CreateInvitation(context.Background(), campaign.Invitation{Role: role, WardCode: ward, CreatedBy: by, ExpiresAt: expires})
	return code
}

// StaffMember implements campaign.StaffStore.
func (s *Staff) StaffMember(_ context.Context, channel, id string) (campaign.Staff, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.LookupErr != nil {
		return campaign.Staff{}, s.LookupErr
	}
	m, ok := s.members[channel+":"+id]
	if !ok {
		return campaign.Staff{}, campaign.Errorf(campaign.ENOTFOUND, "no staff %s:%s", channel, id)
	}
	return m, nil
}

// ListStaff implements campaign.StaffStore.
func (s *Staff) ListStaff(context.Context) ([]campaign.Staff, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ListErr != nil {
		return nil, s.ListErr
	}
	var out []campaign.Staff
	for _, m := range s.members {
		out = append(out, m)
	}
	slices.SortFunc(out, func(a, b campaign.Staff) int { return strings.Compare(a.Name+a.ExternalID, b.Name+b.ExternalID) })
	return out, nil
}

// RevokeStaff implements campaign.StaffStore.
func (s *Staff) RevokeStaff(_ context.Context, channel, id, by string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.revokes++
	if s.RevokeErr != nil {
		return s.RevokeErr
	}
	if _, ok := s.members[channel+":"+id]; !ok {
		return campaign.Errorf(campaign.ENOTFOUND, "no staff %s:%s", channel, id)
	}
	delete(s.members, channel+":"+id)
	s.revokedBy = append(s.revokedBy, by)
	return nil
}

// Add makes a Telegram user a staff member directly.
func (s *Staff) Add(id, name string, role campaign.Role, ward string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.members["telegram:"+id] = campaign.Staff{Channel: "telegram", ExternalID: id, Name: name, Role: role, WardCode: ward}
}

// AddMember makes m an active staff member as it is (a school with its name), on Telegram
// when it names no channel.
func (s *Staff) AddMember(m campaign.Staff) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m.Channel == "" {
		m.Channel = "telegram"
	}
	s.members[m.Channel+":"+m.ExternalID] = m
}

// Member returns the staff member of Telegram user id.
func (s *Staff) Member(id string) (campaign.Staff, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.members["telegram:"+id]
	return m, ok
}

// Audit is an in-memory campaign.AuditLog.
type Audit struct {
	mu      sync.Mutex
	entries []campaign.AuditEntry
	// Err, when set, is returned instead of recording.
	Err error
}

var _ campaign.AuditLog = (*Audit)(nil)

// Audit implements campaign.AuditLog.
func (a *Audit) Audit(_ context.Context, e campaign.AuditEntry) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.Err != nil {
		return a.Err
	}
	a.entries = append(a.entries, e)
	return nil
}

// Refused returns the entries of refused actions (auth.refused).
func (a *Audit) Refused() []campaign.AuditEntry {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []campaign.AuditEntry
	for _, e := range a.entries {
		if e.Action == "auth.refused" {
			out = append(out, e)
		}
	}
	return out
}

// Entries returns the entries recorded, in order.
func (a *Audit) Entries() []campaign.AuditEntry {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.entries)
}

// Remove takes away a staff member directly, as if the record were gone.
func (s *Staff) Remove(channel, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.members, channel+":"+id)
}

// Issued returns a copy of the invitation made under code (nil when none).
func (s *Staff) Issued(code string) *Invite {
	s.mu.Lock()
	defer s.mu.Unlock()
	if inv, ok := s.invites[code]; ok {
		cp := *inv
		return &cp
	}
	return nil
}

// SetRevokedBy marks the invitation under code revoked by by ("" to open it again).
func (s *Staff) SetRevokedBy(code, by string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.invites[code].RevokedBy = by
}

// Created counts the invitations made.
func (s *Staff) Created() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

// Redeems counts the RedeemInvitation calls.
func (s *Staff) Redeems() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.redeems
}

// Revokes counts the RevokeStaff calls.
func (s *Staff) Revokes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.revokes
}

// RevokedBy lists who revoked staff members, in order.
func (s *Staff) RevokedBy() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.revokedBy)
}
