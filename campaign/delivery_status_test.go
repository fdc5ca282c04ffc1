package campaign

import (
	"strings"
	"testing"
)

func TestDeliveryStatus_Apply(t *testing.T) {
	type move struct {
		from  DeliveryStatus
		event DeliveryEvent
	}
	allowed := map[move]DeliveryStatus{
		{DeliveryPending, DeliveryHandOver}:      DeliveryDelivered,
		{DeliveryPending, DeliveryFail}:          DeliveryPending,
		{DeliveryPending, DeliveryChoosePlace}:   DeliveryPending,
		{DeliveryPending, DeliveryCancel}:        "", // removed
		{DeliveryPending, DeliveryRelease}:       "", // removed
		{DeliveryDelivered, DeliveryNotReceived}: DeliveryPending,
		{DeliveryDelivered, DeliveryConfirm}:     DeliveryConfirmed,
		{DeliveryDelivered, DeliveryAutoConfirm}: DeliveryConfirmed,
	}
	// A volunteer's or the system's move on a delivery no longer pending is a conflict; the family's
	// on a delivery not waiting for its word finds nothing.
	refused := map[DeliveryEvent]string{
		DeliveryHandOver: ECONFLICT, DeliveryFail: ECONFLICT, DeliveryChoosePlace: ENOTFOUND,
		DeliveryNotReceived: ENOTFOUND, DeliveryConfirm: ENOTFOUND, DeliveryAutoConfirm: ECONFLICT,
		DeliveryCancel: ECONFLICT, DeliveryRelease: ECONFLICT,
	}
	registration := map[DeliveryEvent]RegistrationEvent{
		DeliveryHandOver: RegistrationDeliver, DeliveryNotReceived: RegistrationNotReceived,
		DeliveryRelease: RegistrationRelease,
	}
	if len(refused) != len(DeliveryEvents) {
		t.Fatalf("the test knows %d events, campaign %d", len(refused), len(DeliveryEvents))
	}
	for _, e := range DeliveryEvents {
		for _, from := range DeliveryStatuses {
			t.Run(string(e)+"/"+string(from), func(t *testing.T) {
				to, want := allowed[move{from, e}]
				got, err := from.Apply(e)
				switch {
				case want && err != nil:
					t.Fatalf("refused: %v", err)
				case want && got != to:
					t.Fatalf("led to %q, want %q", got, to)
				case !want && err == nil:
					t.Fatalf("allowed, to %q", got)
				case !want && (ErrorCode(err) != refused[e] || !strings.Contains(err.Error(), string(from))):
					t.Fatalf("error %v should be %s and name the status", err, refused[e])
				}
				if e.Allows(from) != want {
					t.Errorf("Allows = %v", !want)
				}
				// Only a second "Đã nhận" is a repeat, and only on a confirmed delivery.
				if rep := e.Repeated(from); rep != (e == DeliveryConfirm && from == DeliveryConfirmed) {
					t.Errorf("Repeated = %v", rep)
				}
				// The registration follows the delivery: its event is allowed in the status it has
				// while the delivery is in from, and leads to the status it has after.
				if want {
					if got := e.Registration(); got != registration[e] {
						t.Fatalf("Registration() = %q, want %q", got, registration[e])
					}
					// A removed delivery leaves its registration waiting to be allocated again.
					want := to.Registration()
					if to == "" {
						want = StatusVerified
					}
					if re := e.Registration(); re != "" {
						next, err := from.Registration().Apply(re)
						if err != nil || next != want {
							t.Errorf("registration %s -> %s (%v), want %s", from.Registration(), next, err, want)
						}
					}
				}
			})
		}
	}
	for _, e := range DeliveryEvents {
		var from []DeliveryStatus
		for _, s := range DeliveryStatuses {
			if to, ok := allowed[move{s, e}]; ok {
				from = append(from, s)
				if e.To() != to {
					t.Errorf("%s.To() = %q, want %q", e, e.To(), to)
				}
			}
		}
		if got := e.From(); strings.Join(toStringsOf(got), ",") != strings.Join(toStringsOf(from), ",") {
			t.Errorf("%s.From() = %v, want %v", e, got, from)
		}
	}
	if _, err := DeliveryPending.Apply("lose"); ErrorCode(err) != EINVALID {
		t.Errorf("unknown event: %v", err)
	}
	if _, err := DeliveryStatus("lost").Apply(DeliveryHandOver); ErrorCode(err) != EINVALID {
		t.Errorf("unknown status: %v", err)
	}
	if _, err := DeliveryConfirmed.Apply(DeliveryNotReceived); err == nil || !strings.Contains(err.Error(), "cannot change") {
		t.Errorf("confirmed is final: %v", err)
	}
	for _, s := range DeliveryStatuses {
		if s.Final() != (s == DeliveryConfirmed) {
			t.Errorf("%s.Final() = %v", s, s.Final())
		}
	}
}
