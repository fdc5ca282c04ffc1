package export

import "github.com/thuduc/maytinhchoem/campaign"

// The words officials read in an export, by the code stored in the database, as the ids of their
// messages in the catalog (locales/*/sheet.json; see words.go). They are keyed by the campaign's
// constants so that a renamed code fails to compile here; a code with no label is written as it
// is, so nothing is lost when a new one appears before its label.

var registrationStatusLabels = map[string]string{
	string(campaign.StatusSubmitted): "sheet.reg_status.submitted",
	string(campaign.StatusNeedsInfo): "sheet.reg_status.needs_info",
	string(campaign.StatusVerified):  "sheet.reg_status.verified",
	string(campaign.StatusRejected):  "sheet.reg_status.rejected",
	string(campaign.StatusAllocated): "sheet.reg_status.allocated",
	string(campaign.StatusDelivered): "sheet.reg_status.delivered",
	string(campaign.StatusWithdrawn): "sheet.reg_status.withdrawn",
}

var rejectReasonLabels = map[string]string{
	string(campaign.RejectNotInArea):   "sheet.reject.not_in_area",
	string(campaign.RejectHasDevice):   "sheet.reject.has_device",
	string(campaign.RejectDuplicate):   "sheet.reject.duplicate",
	string(campaign.RejectNotEligible): "sheet.reject.not_eligible",
	string(campaign.RejectOther):       "sheet.reject.other",
}

var levelLabels = map[string]string{
	string(campaign.LevelPrimary):        "sheet.level.primary",
	string(campaign.LevelLowerSecondary): "sheet.level.lower_secondary",
	string(campaign.LevelUpperSecondary): "sheet.level.upper_secondary",
}

var circumstanceLabels = map[string]string{
	string(campaign.CircumstancePoor):            "sheet.circumstance.poor",
	string(campaign.CircumstanceNearPoor):        "sheet.circumstance.near_poor",
	string(campaign.CircumstanceOrphanOneCovid):  "sheet.circumstance.orphan_one_covid",
	string(campaign.CircumstanceOrphanBothCovid): "sheet.circumstance.orphan_both_covid",
	string(campaign.CircumstanceCovidHardship):   "sheet.circumstance.covid_hardship",
	string(campaign.CircumstanceOther):           "sheet.circumstance.other",
}

var situationLabels = map[string]string{
	string(campaign.SituationNone):        "sheet.situation.none",
	string(campaign.SituationSharesPhone): "sheet.situation.shares_phone",
	string(campaign.SituationBroken):      "sheet.situation.broken",
}

var needLabels = map[string]string{
	string(campaign.NeedLaptop):          "sheet.need.laptop",
	string(campaign.NeedDesktop):         "sheet.need.desktop",
	string(campaign.NeedTablet):          "sheet.need.tablet",
	string(campaign.NeedSmartphone):      "sheet.need.smartphone",
	string(campaign.NeedSIM4G):           "sheet.need.sim_4g",
	string(campaign.NeedUSBWiFi):         "sheet.need.usb_wifi",
	string(campaign.NeedInternetPackage): "sheet.need.internet_package",
}

var deviceTypeLabels = map[string]string{
	string(campaign.DeviceLaptop):     "sheet.device_type.laptop",
	string(campaign.DeviceDesktop):    "sheet.device_type.desktop",
	string(campaign.DeviceTablet):     "sheet.device_type.tablet",
	string(campaign.DeviceSmartphone): "sheet.device_type.smartphone",
}

var deviceStateLabels = map[string]string{
	string(campaign.DevicePledged):    "sheet.device_state.pledged",
	string(campaign.DeviceReceived):   "sheet.device_state.received",
	string(campaign.DeviceChecking):   "sheet.device_state.checking",
	string(campaign.DeviceReady):      "sheet.device_state.ready",
	string(campaign.DeviceNeedsParts): "sheet.device_state.needs_parts",
	string(campaign.DeviceUnusable):   "sheet.device_state.unusable",
	string(campaign.DeviceAllocated):  "sheet.device_state.allocated",
	string(campaign.DeviceDelivered):  "sheet.device_state.delivered",
	string(campaign.DeviceReturned):   "sheet.device_state.returned",
}

var stockLabels = map[string]string{
	string(campaign.StockSIM4G):           "sheet.stock.sim_4g",
	string(campaign.StockUSBWiFi):         "sheet.stock.usb_wifi",
	string(campaign.StockInternetPackage): "sheet.stock.internet_package",
}

var donorKindLabels = map[string]string{
	string(campaign.DonorIndividual):      "sheet.donor_kind.individual",
	string(campaign.DonorBusiness):        "sheet.donor_kind.business",
	string(campaign.DonorOrganisation):    "sheet.donor_kind.organisation",
	string(campaign.DonorReligious):       "sheet.donor_kind.religious",
	string(campaign.DonorParentsCouncil):  "sheet.donor_kind.parents_council",
	string(campaign.DonorTelecomOperator): "sheet.donor_kind.telecom_operator",
}

var pledgeStatusLabels = map[string]string{
	string(campaign.PledgeOpen):      "sheet.pledge_status.pledged",
	string(campaign.PledgePartly):    "sheet.pledge_status.partly",
	string(campaign.PledgeReceived):  "sheet.pledge_status.received",
	string(campaign.PledgeCancelled): "sheet.pledge_status.cancelled",
}

var deliveryMethodLabels = map[string]string{
	string(campaign.DeliverToWard):   "sheet.delivery_method.ward_office",
	string(campaign.DeliverToFront):  "sheet.delivery_method.front",
	string(campaign.DeliverByPickup): "sheet.delivery_method.pickup",
}

var deliveryStatusLabels = map[string]string{
	string(campaign.DeliveryPending):   "sheet.delivery_status.pending",
	string(campaign.DeliveryDelivered): "sheet.delivery_status.delivered",
	string(campaign.DeliveryConfirmed): "sheet.delivery_status.confirmed",
}

var handoverLabels = map[string]string{
	string(campaign.HandoverHome):   "sheet.handover.home",
	string(campaign.HandoverSchool): "sheet.handover.school",
}

var failReasonLabels = map[string]string{
	string(campaign.FailNotHome):      "sheet.fail.not_home",
	string(campaign.FailWrongAddress): "sheet.fail.wrong_address",
	string(campaign.FailOther):        "sheet.fail.other",
	string(campaign.FailNotReceived):  "sheet.fail.not_received",
}

// staffRoleLabels name the role of the staff member who took a step, after their name.
var staffRoleLabels = map[string]string{
	string(campaign.RoleAdmin):           "sheet.role.admin",
	string(campaign.RoleCityOfficial):    "sheet.role.city_official",
	string(campaign.RoleEducationOffice): "sheet.role.education_office",
	string(campaign.RoleWardOfficial):    "sheet.role.ward_official",
	string(campaign.RoleWomensUnion):     "sheet.role.womens_union",
	string(campaign.RoleVolunteer):       "sheet.role.volunteer",
	string(campaign.RoleCultureInfo):     "sheet.role.culture_info",
	string(campaign.RoleSchool):          "sheet.role.school",
	StaffUnknown:                         "sheet.role.staff",
}

// StaffUnknown is the role the Source gives a staff member it knows only as staff (no longer
// in the staff table, or an administrator named in the configuration): the cell says "cán bộ",
// never their chat id.
const StaffUnknown = "staff"

// sourceLabels say how a registration came (campaign.Source).
var sourceLabels = map[string]string{
	string(campaign.SourceChat):     "sheet.source.chat",
	string(campaign.SourceList):     "sheet.source.list",
	string(campaign.SourceAssisted): "sheet.source.assisted",
}

// How the family's consent was given, as the Source gives it in the "consent" field: in the
// chat (the parent agreed on the form), in person (to the staff member who registered the
// family, who witnessed it), or with the list (the school or the ward gathered it).
const (
	ConsentChat     = "chat"
	ConsentInPerson = "in_person"
	ConsentList     = "list"
)

var consentLabels = map[string]string{
	ConsentChat:     "sheet.consent.chat",
	ConsentInPerson: "sheet.consent.in_person",
	ConsentList:     "sheet.consent.list",
}

// noSchool names the row of the registrations that name no school (erased ones).
const noSchool = "sheet.no_school"

// Origins of a device, as the Source gives them in the "origin" field.
const (
	OriginPledge   = "pledge"   // from a donor's pledge
	OriginPurchase = "purchase" // bought with money given to the campaign
	OriginWalkIn   = "walk_in"  // given at a ward office or the Front without a pledge
)

var originLabels = map[string]string{
	OriginPurchase: "sheet.origin.purchase",
	OriginWalkIn:   "sheet.origin.walk_in",
}

// itemNouns name what a pledge line gives, as counted in its summary ("2 laptop").
var itemNouns = map[campaign.ItemKind]string{
	campaign.ItemLaptop:          "sheet.item.laptop",
	campaign.ItemDesktop:         "sheet.item.desktop",
	campaign.ItemTablet:          "sheet.item.tablet",
	campaign.ItemSmartphone:      "sheet.item.smartphone",
	campaign.ItemSIM4G:           "sheet.item.sim_4g",
	campaign.ItemUSBWiFi:         "sheet.item.usb_wifi",
	campaign.ItemInternetPackage: "sheet.item.internet_package",
}

// Words of the yes/no columns, of the anonymous donor, and of a pledge line's summary ("1.200
// gói cước Internet 6 tháng", "2 laptop (đã qua sử dụng, chưa đủ phụ kiện)").
const (
	yes        = "sheet.yes"
	no         = "sheet.no"
	anonymous  = "sheet.anonymous"
	months     = "sheet.months"
	used       = "sheet.used"
	incomplete = "sheet.incomplete"
)
