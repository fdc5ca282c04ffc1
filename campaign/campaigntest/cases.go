package campaigntest

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/thuduc/maytinhchoem/campaign"
)

// Cases is an in-memory campaign.CaseStore and campaign.FindStore over the other fakes:
// registrations live in the Registrations (so /status shows what officials decided), devices
// and received stock in the Devices, donors in the Pledges. It keeps the contracts of
// campaign/casework.go as storage/postgres does: statuses move as there, a key applied before
// returns the record as it is, a record no longer in the state asked for is ECONFLICT, one of
// another chat ENOTFOUND, and each change writes an audit row (see AuditActions).
//
// Lock order: Cases, then Registrations, then Devices, then Pledges.
type Cases struct {
	mu  sync.Mutex
	now func() time.Time
	// Campaign ranks the cases and the candidates.
	Campaign *campaign.Campaign
	regs     *Registrations
	devices  *Devices
	pledges  *Pledges

	notes      map[string][]campaign.Note // by registration code
	deliveries []campaign.Delivery
	// deviceWard is the ward where a device is kept, by label (the device store does not say).
	deviceWard map[string]string
	// helped holds children a programme helped before, as helpedKey(name, birth date).
	helped map[string]bool
	// stockTaken counts the stock deliveries took, by kind.
	stockTaken map[campaign.StockKind]int
	// applied remembers the keys applied: "<what>|<key>|<code>".
	applied map[string]bool
	audit   []campaign.AuditEntry

	// errs, by method name ("ConfirmAllocations"), are returned instead of doing the work.
	errs map[string]error
	// calls counts the calls by method name; keys lists the idempotency keys passed, by method.
	calls map[string]int
	keys  map[string][]string
	// Outbox receives the notices the changes queue, as the real store's transaction does.
	Outbox *Outbox
	// messageAt holds when a family's unhandled message came, by code (talk.go).
	messageAt map[string]time.Time
	// Verifiers are the staff told of a family's message (MessageOfficials).
	Verifiers []campaign.Recipient
	// Staff are the staff records AnswerInfo reads the official who asked and the ward's
	// verifiers from, as the real store reads its staff table (nil: nobody is staff).
	Staff *Staff
	// findScopes are the scopes FindByPhone was asked for.
	findScopes []campaign.FindScope
}

// NewCases returns a store over regs, devices and pledges (nil: no donors), with no cases of its
// own yet, queueing into an outbox of its own.
func NewCases(now func() time.Time, camp *campaign.Campaign, regs *Registrations, devices *Devices, pledges *Pledges) *Cases {
	s := &Cases{
		now: now, Campaign: camp, regs: regs, devices: devices, pledges: pledges,
		notes: map[string][]campaign.Note{}, deviceWard: map[string]string{}, helped: map[string]bool{},
		stockTaken: map[campaign.StockKind]int{}, applied: map[string]bool{},
		errs: map[string]error{}, calls: map[string]int{}, keys: map[string][]string{}, Outbox: &Outbox{},
	}
	if devices != nil {
		devices.cases = s
	}
	return s
}

var (
	_ campaign.CaseStore = (*Cases)(nil)
	_ campaign.FindStore = (*Cases)(nil)
)

// call counts a call of method and returns its injected error, if any. s.mu is held.
func (s *Cases) call(method string, key ...string) error {
	s.calls[method]++
	s.keys[method] = append(s.keys[method], key...)
	return s.errs[method]
}

// Fail makes method return err (nil to stop failing).
func (s *Cases) Fail(method string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err == nil {
		delete(s.errs, method)
		return
	}
	s.errs[method] = err
}

// CallCount counts the calls of method.
func (s *Cases) CallCount(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[method]
}

// KeysOf lists the idempotency keys method was given, in order.
func (s *Cases) KeysOf(method string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.keys[method])
}

// AuditActions lists the audit rows written, as "action subject".
func (s *Cases) AuditActions() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, e := range s.audit {
		out = append(out, e.Action+" "+e.Subject)
	}
	return out
}

func normCode(code string) string { return strings.ToUpper(strings.TrimSpace(code)) }

func helpedKey(name string, birth time.Time) string {
	return campaign.Fold(name) + "|" + birth.Format(time.DateOnly)
}

// AddRegistration stores r as the registration store would (code, student, timestamps), keeping
// r.Status (submitted when empty), and returns it.
func (s *Cases) AddRegistration(r campaign.Registration) campaign.Registration {
	s.regs.mu.Lock()
	defer s.regs.mu.Unlock()
	r.ID = int64(len(s.regs.regs) + 1)
	if r.Code == "" {
		r.Code = fmt.Sprintf("TD-%06d", r.ID)
	}
	if r.Status == "" {
		r.Status = campaign.StatusSubmitted
	}
	r.StudentID = r.ID
	if r.CreatedAt.IsZero() {
		r.CreatedAt = s.regs.now().Add(time.Duration(r.ID) * time.Minute)
	}
	r.UpdatedAt = r.CreatedAt
	s.regs.regs = append(s.regs.regs, r)
	return r
}

// AddReadyDevice takes in a ready device of type t (from pledgeCode, "" for a walk-in gift) kept
// in ward, and returns its label.
func (s *Cases) AddReadyDevice(t campaign.DeviceType, ward, pledgeCode string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.devices.mu.Lock()
	defer s.devices.mu.Unlock()
	d := campaign.Device{Type: t, State: campaign.DeviceReady, PledgeCode: pledgeCode, Brand: "Dell", Wiped: true, Cleaned: true}
	s.devices.add(&d)
	s.deviceWard[d.Label] = ward
	return d.Label
}

// AddStock receives n of kind as a walk-in gift.
func (s *Cases) AddStock(kind campaign.StockKind, n int) {
	s.devices.mu.Lock()
	defer s.devices.mu.Unlock()
	s.devices.stock = append(s.devices.stock, StockBatch{Kind: campaign.ItemKind(kind), Quantity: n})
}

// Delivery returns a delivery by code (the zero Delivery when none).
func (s *Cases) Delivery(code string) campaign.Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d := s.deliveryPtr(code); d != nil {
		return *d
	}
	return campaign.Delivery{}
}

// Registration returns a registration by code (the zero Registration when none).
func (s *Cases) Registration(code string) campaign.Registration {
	s.regs.mu.Lock()
	defer s.regs.mu.Unlock()
	for _, r := range s.regs.regs {
		if r.Code == code {
			return r
		}
	}
	return campaign.Registration{}
}

// Device returns a device by label (the zero Device when none).
func (s *Cases) Device(label string) campaign.Device {
	s.devices.mu.Lock()
	defer s.devices.mu.Unlock()
	for _, d := range s.devices.devices {
		if d.Label == label {
			return d
		}
	}
	return campaign.Device{}
}

// reg finds a registration; s.regs.mu is held.
func (s *Cases) reg(code string) *campaign.Registration {
	for i := range s.regs.regs {
		if s.regs.regs[i].Code == code {
			return &s.regs.regs[i]
		}
	}
	return nil
}

// dev finds a device; s.devices.mu is held.
func (s *Cases) dev(label string) *campaign.Device {
	for i := range s.devices.devices {
		if s.devices.devices[i].Label == label {
			return &s.devices.devices[i]
		}
	}
	return nil
}

// deviceTakenFrom returns the code of the delivery that took the device of delivery d since, as
// storage/postgres finds it: one made after d with the same device, or another pending one; ""
// when none did or d has no device. A "not received" does not reopen d then.
func (s *Cases) deviceTakenFrom(d campaign.Delivery) string {
	if d.DeviceLabel == "" {
		return ""
	}
	i := slices.IndexFunc(s.deliveries, func(dl campaign.Delivery) bool { return dl.Code == d.Code })
	for j := len(s.deliveries) - 1; j >= 0; j-- {
		dl := s.deliveries[j]
		if j != i && dl.DeviceLabel == d.DeviceLabel && (j > i || dl.Status == campaign.DeliveryPending) {
			return dl.Code
		}
	}
	return ""
}

// heldByPending reports whether a pending delivery holds the device labelled label.
func (s *Cases) heldByPending(label string) bool {
	return slices.ContainsFunc(s.deliveries, func(dl campaign.Delivery) bool {
		return dl.DeviceLabel == label && dl.Status == campaign.DeliveryPending
	})
}

func (s *Cases) deliveryPtr(code string) *campaign.Delivery {
	for i := range s.deliveries {
		if s.deliveries[i].Code == code {
			return &s.deliveries[i]
		}
	}
	return nil
}

func (s *Cases) record(actor, action, subject string, before, after any) {
	s.audit = append(s.audit, campaign.AuditEntry{At: s.now(), Actor: actor, Action: action, Subject: subject, Before: before, After: after})
}

func staffActorOf(by campaign.Staff) string { return by.Channel + ":" + by.ExternalID }

// applyKey reports whether key was applied to code for what before; "" never was.
func (s *Cases) keyApplied(what, key, code string) bool {
	return key != "" && s.applied[what+"|"+key+"|"+code]
}

func (s *Cases) applyKey(what, key, code string) {
	if key != "" {
		s.applied[what+"|"+key+"|"+code] = true
	}
}

// alreadyHelped: the child, by folded name and birth date, has a delivered registration, or is in
// helped. s.regs.mu is held.
func (s *Cases) alreadyHelped(r campaign.Registration) bool {
	k := helpedKey(r.StudentName, r.BirthDate)
	if s.helped[k] {
		return true
	}
	for _, o := range s.regs.regs {
		if o.Status == campaign.StatusDelivered && helpedKey(o.StudentName, o.BirthDate) == k {
			return true
		}
	}
	return false
}

// caseOf is r as officials see it; s.regs.mu is held.
func (s *Cases) caseOf(r campaign.Registration) campaign.Case {
	k := campaign.Case{Registration: r, Notes: slices.Clone(s.notes[r.Code]), AlreadyHelped: s.alreadyHelped(r), MessageAt: s.messageAt[r.Code]}
	for _, o := range s.regs.regs {
		if o.Code != r.Code && campaign.Fold(o.StudentName) == campaign.Fold(r.StudentName) &&
			o.BirthDate.Equal(r.BirthDate) && o.WardCode == r.WardCode {
			k.Duplicates = append(k.Duplicates, o)
		}
	}
	slices.SortStableFunc(k.Duplicates, func(a, b campaign.Registration) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	return k
}

// PendingCases implements campaign.CaseStore.
func (s *Cases) PendingCases(_ context.Context, wardCode string, skip []string, limit int) ([]campaign.Case, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.call("PendingCases"); err != nil {
		return nil, err
	}
	s.regs.mu.Lock()
	defer s.regs.mu.Unlock()
	var cands []campaign.Candidate
	byCode := map[string]campaign.Registration{}
	for _, r := range s.regs.regs {
		if (r.Status != campaign.StatusSubmitted && s.messageAt[r.Code].IsZero()) || (wardCode != "" && r.WardCode != wardCode) || slices.Contains(skip, r.Code) {
			continue
		}
		byCode[r.Code] = r
		cands = append(cands, s.Campaign.Candidate(r, false))
	}
	campaign.SortByPriority(cands)
	// As storage/postgres: a family's message first, oldest first.
	slices.SortStableFunc(cands, func(a, b campaign.Candidate) int {
		ma, mb := s.messageAt[a.Code], s.messageAt[b.Code]
		if ma.IsZero() || mb.IsZero() {
			return cmp.Compare(btoi(ma.IsZero()), btoi(mb.IsZero()))
		}
		return ma.Compare(mb)
	})
	if limit <= 0 {
		limit = 20 // as storage/postgres
	}
	out := []campaign.Case{}
	for _, c := range cands {
		if len(out) >= limit {
			break
		}
		out = append(out, s.caseOf(byCode[c.Code]))
	}
	return out, nil
}

// CaseByCode implements campaign.CaseStore.
func (s *Cases) CaseByCode(_ context.Context, code string) (campaign.Case, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.call("CaseByCode"); err != nil {
		return campaign.Case{}, err
	}
	s.regs.mu.Lock()
	defer s.regs.mu.Unlock()
	r := s.reg(normCode(code))
	if r == nil {
		return campaign.Case{}, campaign.Errorf(campaign.ENOTFOUND, "no registration %s", code)
	}
	return s.caseOf(*r), nil
}

// Decide implements campaign.CaseStore.
func (s *Cases) Decide(_ context.Context, d campaign.Decision, by campaign.Staff, notify campaign.Notify[campaign.Registration]) (campaign.Registration, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.call("Decide", d.Key); err != nil {
		return campaign.Registration{}, err
	}
	code, text := normCode(d.Code), campaign.NormalizeText(d.Text)
	event, ok := d.Verdict.Event()
	if !ok {
		return campaign.Registration{}, campaign.Errorf(campaign.EINVALID, "decision: unknown verdict %q", d.Verdict)
	}
	switch d.Verdict {
	case campaign.VerdictReject:
		if !slices.Contains(campaign.RejectReasons, d.Reason) || (d.Reason == campaign.RejectOther && text == "") {
			return campaign.Registration{}, campaign.Errorf(campaign.EINVALID, "decision: reason %q, text %q", d.Reason, text)
		}
	case campaign.VerdictAskInfo:
		if text == "" {
			return campaign.Registration{}, campaign.Errorf(campaign.EINVALID, "decision: a question is required")
		}
	}
	s.regs.mu.Lock()
	defer s.regs.mu.Unlock()
	r := s.reg(code)
	if r == nil {
		return campaign.Registration{}, campaign.Errorf(campaign.ENOTFOUND, "no registration %s", code)
	}
	if s.keyApplied("decide", d.Key, code) {
		return *r, nil
	}
	delete(s.messageAt, code) // deciding handles the family's message too
	next, err := r.Status.Apply(event)
	if err != nil {
		return campaign.Registration{}, fmt.Errorf("registration %s: %w", code, err)
	}
	before := r.Status
	r.Status, r.UpdatedAt = next, s.now()
	if next == campaign.StatusRejected {
		r.RejectCode = d.Reason
		if d.Reason == campaign.RejectOther {
			r.RejectReason = text
		}
	}
	if next == campaign.StatusNeedsInfo {
		s.notes[code] = append(s.notes[code], campaign.Note{At: s.now(), Actor: staffActorOf(by), Text: text})
	}
	s.applyKey("decide", d.Key, code)
	s.record(staffActorOf(by), "registration."+string(d.Verdict), code, map[string]any{"status": before}, map[string]any{"status": next})
	queueNotices(s.Outbox, notify, *r)
	return *r, nil
}

// AnswerInfo implements campaign.CaseStore: the answer on a needs_info registration, or more of
// it while this chat's answer is the latest note.
func (s *Cases) AnswerInfo(_ context.Context, code string, parent campaign.Session, a campaign.Answer, key string, notify campaign.Notify[campaign.InfoAnswer]) (campaign.Registration, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.call("AnswerInfo", key); err != nil {
		return campaign.Registration{}, "", err
	}
	code, a.Text = normCode(code), campaign.NormalizeText(a.Text)
	if parent.Channel == "" || parent.ChatID == "" || (a.Text == "" && a.PhotoID == "") {
		return campaign.Registration{}, "", campaign.Errorf(campaign.EINVALID, "answer: no chat, or neither words nor a photo")
	}
	s.regs.mu.Lock()
	defer s.regs.mu.Unlock()
	notWaiting := campaign.Errorf(campaign.ENOTFOUND, "registration %s of this chat is not waiting for an answer", code)
	r := s.reg(code)
	if r == nil {
		return campaign.Registration{}, "", campaign.Errorf(campaign.ENOTFOUND, "no registration %s", code)
	}
	if r.Channel != parent.Channel || r.ChatID != parent.ChatID {
		return campaign.Registration{}, "", notWaiting
	}
	actor := parent.Channel + ":" + parent.ChatID
	applied := s.keyApplied("answer", key, code)
	more := false
	if !applied {
		notes := s.notes[code]
		next, err := r.Status.Apply(campaign.RegistrationAnswer)
		switch {
		case err == nil:
		case r.Status == campaign.RegistrationAnswer.To() && len(notes) > 0 && notes[len(notes)-1].Answer && !notes[len(notes)-1].Message && notes[len(notes)-1].Actor == actor:
			more = true
		case r.Status == campaign.RegistrationAnswer.To():
			return campaign.Registration{}, "", notWaiting
		default:
			return campaign.Registration{}, "", fmt.Errorf("registration %s of this chat is not waiting for an answer: %w", code, err)
		}
		s.notes[code] = append(s.notes[code], campaign.Note{At: s.now(), Actor: actor, Answer: true, Text: a.Text,
			PhotoID: a.PhotoID, PhotoChannel: a.PhotoChannel})
		if !more {
			before := r.Status
			r.Status, r.UpdatedAt = next, s.now()
			s.record(actor, "registration.answer", code, map[string]any{"status": before}, map[string]any{"status": next})
		}
		s.applyKey("answer", key, code)
	}
	askedBy := ""
	for _, n := range s.notes[code] {
		if !n.Answer {
			askedBy = n.Actor
		}
	}
	if !applied && notify != nil {
		// As the real store: who asked, as the staff records hold them now, and the ward's queue.
		info := campaign.InfoAnswer{Registration: *r, AskedBy: askedBy, Answer: a, More: more}
		if s.Staff != nil {
			s.Staff.mu.Lock()
			info.Asker = s.Staff.members[askedBy]
			s.Staff.mu.Unlock()
			info.Verifiers = (&Family{staff: s.Staff}).officials(r.WardCode)
		}
		queueNotices(s.Outbox, notify, info)
	}
	return *r, askedBy, nil
}

// WaitingForInfo implements campaign.CaseStore.
func (s *Cases) WaitingForInfo(_ context.Context, parent campaign.Session) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.call("WaitingForInfo"); err != nil {
		return nil, err
	}
	s.regs.mu.Lock()
	defer s.regs.mu.Unlock()
	codes := []string{}
	for _, r := range s.regs.regs {
		if r.Channel == parent.Channel && r.ChatID == parent.ChatID && r.Status == campaign.StatusNeedsInfo {
			codes = append(codes, r.Code)
		}
	}
	return codes, nil
}

// stockLeft counts the stock received less what deliveries took; s.devices.mu is held.
func (s *Cases) stockLeft() map[campaign.StockKind]int {
	left := map[campaign.StockKind]int{}
	for _, st := range s.devices.stock {
		left[campaign.StockKind(st.Kind)] += st.Quantity
	}
	for _, k := range campaign.StockKinds {
		left[k] -= s.stockTaken[k]
	}
	return left
}

// Proposal implements campaign.CaseStore.
func (s *Cases) Proposal(context.Context) (campaign.Proposal, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.call("Proposal"); err != nil {
		return campaign.Proposal{}, err
	}
	s.regs.mu.Lock()
	defer s.regs.mu.Unlock()
	s.devices.mu.Lock()
	defer s.devices.mu.Unlock()
	var p campaign.Proposal
	for _, r := range s.regs.regs {
		if r.Status == campaign.StatusVerified {
			p.Candidates = append(p.Candidates, s.Campaign.Candidate(r, s.alreadyHelped(r)))
		}
	}
	for _, d := range s.devices.devices {
		if d.State == campaign.DeviceReady && !s.heldByPending(d.Label) {
			p.Supply.Devices = append(p.Supply.Devices, campaign.ReadyDevice{Label: d.Label, Type: d.Type, WardCode: s.deviceWard[d.Label]})
		}
	}
	p.Supply.Stock = s.stockLeft()
	return p, nil
}

// ConfirmAllocations implements campaign.CaseStore: each allocation on its own, stale when its
// registration is no longer verified, its device no longer ready or its stock gone.
func (s *Cases) ConfirmAllocations(_ context.Context, allocs []campaign.Allocation, key string, by campaign.Staff, notify campaign.Notify[campaign.Delivery]) ([]campaign.Delivery, []string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.call("ConfirmAllocations", key); err != nil {
		return nil, nil, err
	}
	for _, a := range allocs {
		if normCode(a.Code) == "" || (a.DeviceLabel == "" && len(a.Stock) == 0) {
			return nil, nil, campaign.Errorf(campaign.EINVALID, "allocation of %q: neither a device nor stock", a.Code)
		}
		for j, k := range a.Stock {
			if !slices.Contains(campaign.StockKinds, k) || slices.Contains(a.Stock[:j], k) {
				return nil, nil, campaign.Errorf(campaign.EINVALID, "allocation of %s: stock %v", a.Code, a.Stock)
			}
		}
	}
	s.regs.mu.Lock()
	defer s.regs.mu.Unlock()
	s.devices.mu.Lock()
	defer s.devices.mu.Unlock()
	var made []campaign.Delivery
	var stale []string
	for _, a := range allocs {
		code := normCode(a.Code)
		r := s.reg(code)
		if r == nil {
			stale = append(stale, code)
			continue
		}
		if s.keyApplied("allocate", key, code) {
			for _, d := range s.deliveries {
				if d.RegistrationCode == code {
					made = append(made, d)
				}
			}
			continue
		}
		// Asked as storage/postgres asks: a verified registration has no delivery yet.
		was := campaign.AllocationState{Registration: r.Status}
		var dev *campaign.Device
		if a.DeviceLabel != "" {
			// A device a pending delivery holds (one a family reopened) is not allocated again.
			if dev = s.dev(normCode(a.DeviceLabel)); dev == nil || s.heldByPending(dev.Label) {
				stale = append(stale, code)
				continue
			}
			was.Device = dev.State
		}
		next, err := was.Apply(campaign.AllocationAllocate)
		left := s.stockLeft()
		if err != nil || slices.ContainsFunc(a.Stock, func(k campaign.StockKind) bool { return left[k] <= 0 }) {
			stale = append(stale, code)
			continue
		}
		d := campaign.Delivery{
			ID: int64(len(s.deliveries) + 12), Status: next.Delivery, RegistrationCode: code,
			StudentName: r.StudentName, Level: r.Level, Grade: r.Grade, School: r.School, WardCode: r.WardCode,
			Address: r.Address, ParentName: r.ParentName, ParentPhone: r.ParentPhone,
			Parent: campaign.Session{Channel: r.Channel, ChatID: r.ChatID}, ParentLanguage: r.Language,
			Handover: campaign.HandoverHome, Stock: slices.Clone(a.Stock),
			AllocatedBy: staffActorOf(by), AllocatedAt: s.now(),
		}
		d.Code = fmt.Sprintf("GH-%06d", d.ID)
		if dev != nil {
			d.DeviceLabel, d.DeviceType = dev.Label, dev.Type
			dev.State, dev.UpdatedAt = next.Device, s.now()
			if dev.PledgeCode != "" && s.pledges != nil {
				s.pledges.mu.Lock()
				for _, p := range s.pledges.pledges {
					if p.Code == dev.PledgeCode && p.ChatID != "" {
						d.Donor = &campaign.Session{Channel: p.Channel, ChatID: p.ChatID}
						d.DonorLanguage = p.Language
					}
				}
				s.pledges.mu.Unlock()
			}
		}
		for _, k := range a.Stock {
			s.stockTaken[k]++
		}
		r.Status, r.UpdatedAt = next.Registration, s.now()
		s.deliveries = append(s.deliveries, d)
		s.applyKey("allocate", key, code)
		s.record(staffActorOf(by), "allocation.confirm", code, map[string]any{"status": campaign.StatusVerified}, map[string]any{"delivery": d.Code})
		queueNotices(s.Outbox, notify, d)
		made = append(made, d)
	}
	return made, stale, nil
}

// SetHandover implements campaign.CaseStore.
func (s *Cases) SetHandover(_ context.Context, code string, parent campaign.Session, h campaign.Handover) (campaign.Delivery, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.call("SetHandover"); err != nil {
		return campaign.Delivery{}, err
	}
	if h != campaign.HandoverHome && h != campaign.HandoverSchool {
		return campaign.Delivery{}, campaign.Errorf(campaign.EINVALID, "handover: unknown place %q", h)
	}
	d := s.deliveryPtr(normCode(code))
	if d == nil || d.Parent != parent {
		return campaign.Delivery{}, campaign.Errorf(campaign.ENOTFOUND, "no pending delivery %s for this chat", code)
	}
	if _, err := d.Status.Apply(campaign.DeliveryChoosePlace); err != nil {
		return campaign.Delivery{}, fmt.Errorf("no pending delivery %s for this chat: %w", code, err)
	}
	if d.Handover != h {
		s.record(parent.Channel+":"+parent.ChatID, "delivery.handover", d.Code, map[string]any{"handover": d.Handover}, map[string]any{"handover": h})
		d.Handover = h
	}
	return *d, nil
}

// OpenDeliveries implements campaign.CaseStore.
func (s *Cases) OpenDeliveries(_ context.Context, wardCode string, limit int) ([]campaign.Delivery, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.call("OpenDeliveries"); err != nil {
		return nil, err
	}
	var out []campaign.Delivery
	for _, d := range s.deliveries {
		if d.Status == campaign.DeliveryPending && (wardCode == "" || d.WardCode == wardCode) {
			out = append(out, d)
		}
	}
	slices.SortStableFunc(out, func(a, b campaign.Delivery) int {
		failed := func(d campaign.Delivery) int {
			if d.Attempts > 0 {
				return 0
			}
			return 1
		}
		return cmp.Or(cmp.Compare(failed(a), failed(b)), strings.Compare(a.WardCode, b.WardCode),
			a.AllocatedAt.Compare(b.AllocatedAt), cmp.Compare(a.ID, b.ID))
	})
	if limit <= 0 {
		limit = 20 // as storage/postgres
	}
	return out[:min(len(out), limit)], nil
}

// DeliveryByCode implements campaign.CaseStore.
func (s *Cases) DeliveryByCode(_ context.Context, code string) (campaign.Delivery, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.call("DeliveryByCode"); err != nil {
		return campaign.Delivery{}, err
	}
	if d := s.deliveryPtr(normCode(code)); d != nil {
		return *d, nil
	}
	return campaign.Delivery{}, campaign.Errorf(campaign.ENOTFOUND, "no delivery %s", code)
}

// MarkDelivered implements campaign.CaseStore.
func (s *Cases) MarkDelivered(_ context.Context, code, recipient, photoID, key string, by campaign.Staff, notify campaign.Notify[campaign.Delivery]) (campaign.Delivery, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.call("MarkDelivered", key); err != nil {
		return campaign.Delivery{}, err
	}
	code, recipient = normCode(code), campaign.NormalizeText(recipient)
	if recipient == "" {
		return campaign.Delivery{}, campaign.Errorf(campaign.EINVALID, "delivery: no recipient")
	}
	d := s.deliveryPtr(code)
	if d == nil {
		return campaign.Delivery{}, campaign.Errorf(campaign.ENOTFOUND, "no delivery %s", code)
	}
	if s.keyApplied("deliver", key, code) {
		return *d, nil
	}
	next, err := d.Status.Apply(campaign.AllocationHandOver.Delivery())
	if err != nil {
		return campaign.Delivery{}, fmt.Errorf("delivery %s: %w", code, err)
	}
	d.Status, d.RecipientName, d.PhotoID, d.Volunteer, d.DeliveredAt = next, recipient, photoID, staffActorOf(by), s.now()
	s.regs.mu.Lock()
	if r := s.reg(d.RegistrationCode); r != nil {
		r.Status, r.UpdatedAt = campaign.AllocationHandOver.Registration().To(), s.now()
	}
	s.regs.mu.Unlock()
	s.moveAllocated(d.DeviceLabel, campaign.AllocationHandOver)
	s.applyKey("deliver", key, code)
	s.record(staffActorOf(by), "delivery.delivered", code, map[string]any{"status": campaign.DeliveryPending}, map[string]any{"photo": photoID != ""})
	queueNotices(s.Outbox, notify, *d)
	return *d, nil
}

// releaseDevice undoes the allocation of the pending delivery that holds device d (d.Delivery),
// which a volunteer by sends back to ready, as campaign.AllocationRelease says and
// storage/postgres does: notify's messages for the delivery as it was are queued, the delivery
// is removed with its keys, its stock given back and the registration verified again, with an
// audit row "allocation.release". The caller moves the device; s.mu and s.devices.mu are held,
// not s.regs.mu.
func (s *Cases) releaseDevice(d campaign.Device, by campaign.Staff, notify campaign.Notify[campaign.Delivery]) error {
	i := slices.IndexFunc(s.deliveries, func(dl campaign.Delivery) bool { return dl.Code == d.Delivery })
	if i < 0 {
		return campaign.Errorf(campaign.ENOTFOUND, "no delivery %s", d.Delivery)
	}
	dl := s.deliveries[i]
	s.regs.mu.Lock()
	defer s.regs.mu.Unlock()
	r := s.reg(dl.RegistrationCode)
	if r == nil {
		return campaign.Errorf(campaign.ENOTFOUND, "no registration %s", dl.RegistrationCode)
	}
	was := campaign.AllocationState{Registration: r.Status, Delivery: dl.Status, Device: d.State}
	after, err := was.Apply(campaign.AllocationRelease)
	if err != nil {
		return fmt.Errorf("delivery %s: %w", dl.Code, err)
	}
	queueNotices(s.Outbox, notify, dl)
	s.deliveries = slices.Delete(s.deliveries, i, i+1)
	for k := range s.applied {
		what, _, _ := strings.Cut(k, "|")
		code := k[strings.LastIndex(k, "|")+1:]
		if code == dl.Code || (what == "allocate" && code == r.Code) {
			delete(s.applied, k)
		}
	}
	for _, k := range dl.Stock {
		s.stockTaken[k]--
	}
	r.Status, r.UpdatedAt = after.Registration, s.now()
	s.record(staffActorOf(by), "allocation.release", r.Code,
		map[string]any{"status": was.Registration, "delivery": dl.Code}, map[string]any{"status": after.Registration})
	return nil
}

// moveAllocated moves the device labelled label ("" none) of an allocation as e says, as
// storage/postgres does: only from where the allocation left it. It reports whether the device
// moved. The caller does not hold the devices' lock.
func (s *Cases) moveAllocated(label string, e campaign.AllocationEvent) bool {
	if label == "" {
		return false
	}
	s.devices.mu.Lock()
	defer s.devices.mu.Unlock()
	dev := s.dev(label)
	if dev == nil {
		return false
	}
	to, moved := e.MoveDevice(dev.State)
	if moved {
		dev.State, dev.UpdatedAt = to, s.now()
	}
	return moved
}

// MarkFailed implements campaign.CaseStore.
func (s *Cases) MarkFailed(_ context.Context, code string, reason campaign.FailReason, note, key string, by campaign.Staff, notify campaign.Notify[campaign.Delivery]) (campaign.Delivery, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.call("MarkFailed", key); err != nil {
		return campaign.Delivery{}, err
	}
	if !slices.Contains(campaign.FailReasons, reason) {
		return campaign.Delivery{}, campaign.Errorf(campaign.EINVALID, "delivery: unknown failure reason %q", reason)
	}
	code = normCode(code)
	d := s.deliveryPtr(code)
	if d == nil {
		return campaign.Delivery{}, campaign.Errorf(campaign.ENOTFOUND, "no delivery %s", code)
	}
	if s.keyApplied("fail", key, code) {
		return *d, nil
	}
	next, err := d.Status.Apply(campaign.DeliveryFail)
	if err != nil {
		return campaign.Delivery{}, fmt.Errorf("delivery %s: %w", code, err)
	}
	d.Status = next
	d.Attempts++
	d.LastFailure = reason
	s.applyKey("fail", key, code)
	s.record(staffActorOf(by), "delivery.failed", code, map[string]any{"attempts": d.Attempts - 1}, map[string]any{"reason": reason, "note": note})
	queueNotices(s.Outbox, notify, *d)
	return *d, nil
}

// ConfirmDelivery implements campaign.CaseStore.
func (s *Cases) ConfirmDelivery(_ context.Context, code string, parent campaign.Session, notify campaign.Notify[campaign.Delivery]) (campaign.Delivery, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.call("ConfirmDelivery"); err != nil {
		return campaign.Delivery{}, false, err
	}
	d := s.deliveryPtr(normCode(code))
	if d == nil || d.Parent != parent {
		return campaign.Delivery{}, false, campaign.Errorf(campaign.ENOTFOUND, "no delivered delivery %s for this chat", code)
	}
	if campaign.DeliveryConfirm.Repeated(d.Status) {
		return *d, true, nil
	}
	next, err := d.Status.Apply(campaign.DeliveryConfirm)
	if err != nil {
		return campaign.Delivery{}, false, fmt.Errorf("no delivered delivery %s for this chat: %w", code, err)
	}
	before := d.Status
	d.Status, d.ConfirmedAt = next, s.now()
	s.record(parent.Channel+":"+parent.ChatID, "delivery.confirmed", d.Code, map[string]any{"status": before}, map[string]any{"status": next})
	queueNotices(s.Outbox, notify, *d)
	return *d, false, nil
}

// ReportNotReceived implements campaign.CaseStore.
func (s *Cases) ReportNotReceived(_ context.Context, code string, parent campaign.Session, words, key string, notify campaign.Notify[campaign.Delivery]) (campaign.Delivery, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.call("ReportNotReceived", key); err != nil {
		return campaign.Delivery{}, err
	}
	code = normCode(code)
	d := s.deliveryPtr(code)
	if d == nil || d.Parent != parent {
		return campaign.Delivery{}, campaign.Errorf(campaign.ENOTFOUND, "no delivery %s for this chat", code)
	}
	if s.keyApplied("not_received", key, code) {
		return *d, nil
	}
	next, err := d.Status.Apply(campaign.AllocationNotReceived.Delivery())
	if err != nil {
		return campaign.Delivery{}, fmt.Errorf("delivery %s: %w", code, err)
	}
	if other := s.deviceTakenFrom(*d); other != "" {
		return campaign.Delivery{}, campaign.Errorf(campaign.ENOTFOUND, "delivery %s cannot be reopened: its device is on delivery %s since", code, other)
	}
	d.Status, d.DeliveredAt = next, time.Time{}
	d.Attempts++
	d.LastFailure, d.LastFailureNote = campaign.FailNotReceived, campaign.NormalizeText(words)
	s.regs.mu.Lock()
	if r := s.reg(d.RegistrationCode); r != nil {
		r.Status, r.UpdatedAt = campaign.AllocationNotReceived.Registration().To(), s.now()
	}
	s.regs.mu.Unlock()
	s.moveAllocated(d.DeviceLabel, campaign.AllocationNotReceived)
	s.applyKey("not_received", key, code)
	s.record(parent.Channel+":"+parent.ChatID, "delivery.not_received", code, map[string]any{"status": campaign.DeliveryDelivered}, map[string]any{"status": campaign.DeliveryPending})
	queueNotices(s.Outbox, notify, *d)
	return *d, nil
}

// FinalizeDeliveries implements campaign.CaseStore.
func (s *Cases) FinalizeDeliveries(_ context.Context, cutoff time.Time, notify campaign.Notify[campaign.Delivery]) ([]campaign.Delivery, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.call("FinalizeDeliveries"); err != nil {
		return nil, err
	}
	out := []campaign.Delivery{}
	for i := range s.deliveries {
		d := &s.deliveries[i]
		if next, err := d.Status.Apply(campaign.DeliveryAutoConfirm); err == nil && d.DeliveredAt.Before(cutoff) {
			before := d.Status
			d.Status, d.ConfirmedAt, d.AutoConfirmed = next, s.now(), true
			s.record("system", "delivery.auto_confirmed", d.Code, map[string]any{"status": before}, map[string]any{"status": next})
			queueNotices(s.Outbox, notify, *d)
			out = append(out, *d)
		}
	}
	slices.SortStableFunc(out, func(a, b campaign.Delivery) int { return a.DeliveredAt.Compare(b.DeliveredAt) })
	return out, nil
}

// RegistrationByCode implements campaign.FindStore.
func (s *Cases) RegistrationByCode(_ context.Context, code string) (campaign.Registration, error) {
	return s.registrationByCode("RegistrationByCode", code)
}

// registrationByCode is RegistrationByCode, counted as a call of method.
func (s *Cases) registrationByCode(method, code string) (campaign.Registration, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.call(method); err != nil {
		return campaign.Registration{}, err
	}
	s.regs.mu.Lock()
	defer s.regs.mu.Unlock()
	if r := s.reg(normCode(code)); r != nil {
		return *r, nil
	}
	return campaign.Registration{}, campaign.Errorf(campaign.ENOTFOUND, "no registration %s", code)
}

// FindByPhone implements campaign.FindStore: as the real store, only what scope may see is read.
// scopes records the scopes asked for.
func (s *Cases) FindByPhone(_ context.Context, phone string, scope campaign.FindScope, limit int) ([]campaign.Registration, []campaign.Pledge, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.call("FindByPhone"); err != nil {
		return nil, nil, err
	}
	s.findScopes = append(s.findScopes, scope)
	s.regs.mu.Lock()
	defer s.regs.mu.Unlock()
	var regs []campaign.Registration
	for _, r := range slices.Backward(s.regs.regs) {
		if scope.Registrations && (scope.WardCode == "" || r.WardCode == scope.WardCode) &&
			(scope.School == "" || campaign.SameSchool(r.School, scope.School)) && r.ParentPhone == phone && len(regs) < limit {
			regs = append(regs, r)
		}
	}
	var pledges []campaign.Pledge
	if s.pledges != nil && scope.Pledges && scope.School == "" {
		s.pledges.mu.Lock()
		for _, p := range slices.Backward(s.pledges.pledges) {
			if (scope.WardCode == "" || p.WardCode == scope.WardCode) && p.Phone == phone && len(pledges) < limit {
				pledges = append(pledges, p)
			}
		}
		s.pledges.mu.Unlock()
	}
	return regs, pledges, nil
}

// AddHelped makes the child of name, born on birth, one a programme helped before.
func (s *Cases) AddHelped(name string, birth time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.helped[helpedKey(name, birth)] = true
}

// Deliveries returns the deliveries made, in order.
func (s *Cases) Deliveries() []campaign.Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.deliveries)
}

// AppendDelivery stores d as it is.
func (s *Cases) AppendDelivery(d campaign.Delivery) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deliveries = append(s.deliveries, d)
}

// EditDelivery changes the delivery code in place, if there is one.
func (s *Cases) EditDelivery(code string, change func(*campaign.Delivery)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d := s.deliveryPtr(code); d != nil {
		change(d)
	}
}

// FindScopes returns the scopes FindByPhone was asked for, in order.
func (s *Cases) FindScopes() []campaign.FindScope {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.findScopes)
}

// MessageAt returns when the family's unhandled message on registration code came (zero: none).
func (s *Cases) MessageAt(code string) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.messageAt[code]
}
