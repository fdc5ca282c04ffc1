package flows

// allocScenarios are the golden conversations of /allocate (testdata/allocate) and of deliveries
// (testdata/deliver): volunteers and parents.
func allocScenarios() []scenario { return nil }
