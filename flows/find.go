package flows

// findCommand is /find.
func (c *turn) findCommand(string) error { c.say(c.t("case.unavailable")); return nil }
