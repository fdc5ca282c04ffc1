package flows

// Golden directories of the case work (FlowCase is one flow with several owners).
const (
	goldenVerify   = "verify"
	goldenAllocate = "allocate"
	goldenDeliver  = "deliver"
	goldenFind     = "find"
)

func verifyScenarios() []scenario { return nil }
