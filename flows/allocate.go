package flows

// allocPrefix starts the callback data of /allocate's buttons.
const allocPrefix = "a"

// allocStep returns FlowCase's allocation steps ("a.*").
func allocStep(string) (caseStep, bool) { return caseStep{}, false }

// allocateCommand is /allocate.
func (c *turn) allocateCommand(string) error { c.say(c.t("case.unavailable")); return nil }

func (c *turn) allocCallback(string) error { c.stale(); return nil }
