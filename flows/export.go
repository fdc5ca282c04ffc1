package flows

// exportPrefix starts the callback data of /export's buttons.
const exportPrefix = "x"

// exportCommand is /export.
func (c *turn) exportCommand(string) error { c.say(c.t("case.unavailable")); return nil }

func (c *turn) exportCallback(string) error { c.stale(); return nil }
