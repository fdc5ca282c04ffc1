package flows

// Callback prefixes of deliveries: deliverPrefix for volunteers' buttons, parentPrefix for the
// parent's (where to receive, "Đã nhận", answering officials).
const (
	deliverPrefix = "d"
	parentPrefix  = "h"
)

// deliverStep returns FlowCase's volunteer steps ("d.*").
func deliverStep(string) (caseStep, bool) { return caseStep{}, false }

// parentStep returns FlowCase's parent steps ("h.*").
func parentStep(string) (caseStep, bool) { return caseStep{}, false }

// deliveriesCommand is /deliveries.
func (c *turn) deliveriesCommand(string) error { c.say(c.t("case.unavailable")); return nil }

func (c *turn) deliverCallback(string) error { c.stale(); return nil }

func (c *turn) parentCallback(string) error { c.stale(); return nil }
