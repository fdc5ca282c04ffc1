package flows

// verifyPrefix starts the callback data of /verify's buttons.
const verifyPrefix = "v"

// verifyStep returns FlowCase's verification steps ("v.*").
func verifyStep(string) (caseStep, bool) { return caseStep{}, false }

// verifyCommand is /verify.
func (c *turn) verifyCommand(string) error { c.say(c.t("case.unavailable")); return nil }

func (c *turn) verifyCallback(string) error { c.stale(); return nil }
