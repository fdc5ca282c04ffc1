package campaign

import (
	"strings"
	"testing"
)

func TestRegistrationStatus_Apply(t *testing.T) {
	type move struct {
		from  RegistrationStatus
		event RegistrationEvent
	}
	allowed := map[move]RegistrationStatus{
		{StatusSubmitted, RegistrationApprove}:     StatusVerified,
		{StatusSubmitted, RegistrationReject}:      StatusRejected,
		{StatusSubmitted, RegistrationAskInfo}:     StatusNeedsInfo,
		{StatusNeedsInfo, RegistrationAnswer}:      StatusSubmitted,
		{StatusVerified, RegistrationAllocate}:     StatusAllocated,
		{StatusAllocated, RegistrationDeliver}:     StatusDelivered,
		{StatusDelivered, RegistrationNotReceived}: StatusAllocated,
		{StatusAllocated, RegistrationRelease}:     StatusVerified,
		{StatusSubmitted, RegistrationWithdraw}:    StatusWithdrawn,
		{StatusNeedsInfo, RegistrationWithdraw}:    StatusWithdrawn,
		{StatusVerified, RegistrationWithdraw}:     StatusWithdrawn,
		{StatusAllocated, RegistrationWithdraw}:    StatusWithdrawn,
	}
	// The code of a refused event: a decision someone made first is a conflict; what the family
	// does to a registration not waiting for it finds nothing.
	refused := map[RegistrationEvent]string{
		RegistrationApprove: ECONFLICT, RegistrationReject: ECONFLICT, RegistrationAskInfo: ECONFLICT,
		RegistrationAnswer: ENOTFOUND, RegistrationAllocate: ECONFLICT, RegistrationDeliver: ECONFLICT,
		RegistrationNotReceived: ENOTFOUND, RegistrationRelease: ECONFLICT, RegistrationWithdraw: ECONFLICT,
	}
	if len(refused) != len(RegistrationEvents) {
		t.Fatalf("the test knows %d events, campaign %d", len(refused), len(RegistrationEvents))
	}
	// Every event in every status, allowed and refused.
	for _, e := range RegistrationEvents {
		for _, from := range RegistrationStatuses {
			t.Run(string(e)+"/"+string(from), func(t *testing.T) {
				to, want := allowed[move{from, e}]
				got, err := from.Apply(e)
				switch {
				case want && err != nil:
					t.Fatalf("refused: %v", err)
				case want && got != to:
					t.Fatalf("led to %s, want %s", got, to)
				case !want && err == nil:
					t.Fatalf("allowed, to %s", got)
				case !want && (ErrorCode(err) != refused[e] || !strings.Contains(err.Error(), string(from))):
					t.Fatalf("error %v should be %s and name the status", err, refused[e])
				case !want && got != from:
					t.Fatalf("a refused event returned %s", got)
				}
				if e.Allows(from) != want {
					t.Errorf("Allows = %v", !want)
				}
			})
		}
	}
	for _, e := range RegistrationEvents {
		var from []RegistrationStatus
		for _, s := range RegistrationStatuses {
			if _, ok := allowed[move{s, e}]; ok {
				from = append(from, s)
				if e.To() != allowed[move{s, e}] {
					t.Errorf("%s.To() = %s", e, e.To())
				}
			}
		}
		if got := e.From(); strings.Join(toStringsOf(got), ",") != strings.Join(toStringsOf(from), ",") {
			t.Errorf("%s.From() = %v, want %v", e, got, from)
		}
	}
	if _, err := StatusSubmitted.Apply("lose"); ErrorCode(err) != EINVALID {
		t.Errorf("unknown event: %v", err)
	}
	if _, err := RegistrationStatus("lost").Apply(RegistrationApprove); ErrorCode(err) != EINVALID {
		t.Errorf("unknown status: %v", err)
	}
	if _, err := StatusRejected.Apply(RegistrationWithdraw); err == nil || !strings.Contains(err.Error(), "cannot change") {
		t.Errorf("rejected is final: %v", err)
	}
}

func TestRegistrationStatus_CanMove(t *testing.T) {
	allowed := map[[2]RegistrationStatus]bool{
		{StatusSubmitted, StatusVerified}:  true,
		{StatusSubmitted, StatusRejected}:  true,
		{StatusSubmitted, StatusNeedsInfo}: true,
		{StatusNeedsInfo, StatusSubmitted}: true,
		{StatusVerified, StatusAllocated}:  true,
		{StatusAllocated, StatusDelivered}: true,
		{StatusDelivered, StatusAllocated}: true,
		{StatusAllocated, StatusVerified}:  true,
		{StatusSubmitted, StatusWithdrawn}: true,
		{StatusNeedsInfo, StatusWithdrawn}: true,
		{StatusVerified, StatusWithdrawn}:  true,
		{StatusAllocated, StatusWithdrawn}: true,
	}
	for _, from := range RegistrationStatuses {
		for _, to := range RegistrationStatuses {
			if got := from.CanMove(to); got != allowed[[2]RegistrationStatus{from, to}] {
				t.Errorf("%s -> %s: CanMove = %v", from, to, got)
			}
		}
	}
	for _, s := range RegistrationStatuses {
		want := s == StatusRejected || s == StatusWithdrawn
		if s.Final() != want {
			t.Errorf("%s.Final() = %v", s, s.Final())
		}
	}
}

func TestRegistrationStatus_Withdrawable(t *testing.T) {
	for _, s := range RegistrationStatuses {
		want := s == StatusSubmitted || s == StatusNeedsInfo || s == StatusVerified || s == StatusAllocated
		if s.Withdrawable() != want || s.Correctable() != want {
			t.Errorf("%s: Withdrawable = %v, Correctable = %v", s, s.Withdrawable(), s.Correctable())
		}
		if s.CorrectedDirectly() != (s == StatusSubmitted || s == StatusNeedsInfo) {
			t.Errorf("%s: CorrectedDirectly = %v", s, s.CorrectedDirectly())
		}
	}
}

func TestVerdict_Event(t *testing.T) {
	for v, want := range map[Verdict]RegistrationEvent{
		VerdictApprove: RegistrationApprove, VerdictReject: RegistrationReject, VerdictAskInfo: RegistrationAskInfo,
	} {
		if got, ok := v.Event(); !ok || got != want {
			t.Errorf("%s.Event() = %s, %v", v, got, ok)
		}
	}
	if _, ok := Verdict("maybe").Event(); ok {
		t.Error("an unknown verdict has an event")
	}
}

func toStringsOf[S ~string](in []S) []string {
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = string(s)
	}
	return out
}
