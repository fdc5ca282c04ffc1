package export

import "github.com/thuduc/maytinhchoem/campaign"

// The Vietnamese words officials read in an export, by the code stored in the database. They are
// keyed by the campaign's constants so that a renamed code fails to compile here; a code with no
// label is written as it is, so nothing is lost when a new one appears before its label.

var registrationStatusLabels = map[string]string{
	string(campaign.StatusSubmitted): "chờ xác minh",
	string(campaign.StatusNeedsInfo): "chờ bổ sung thông tin",
	string(campaign.StatusVerified):  "đã xác minh",
	string(campaign.StatusRejected):  "không được duyệt",
	string(campaign.StatusAllocated): "đã phân bổ thiết bị",
	string(campaign.StatusDelivered): "đã trao thiết bị",
	string(campaign.StatusWithdrawn): "gia đình đã rút hồ sơ",
}

var rejectReasonLabels = map[string]string{
	string(campaign.RejectNotInArea):   "Không cư trú trên địa bàn",
	string(campaign.RejectHasDevice):   "Đã có thiết bị",
	string(campaign.RejectDuplicate):   "Đăng ký trùng",
	string(campaign.RejectNotEligible): "Không phải học sinh tiểu học, THCS, THPT",
	string(campaign.RejectOther):       "Lý do khác",
}

var levelLabels = map[string]string{
	string(campaign.LevelPrimary):        "Tiểu học",
	string(campaign.LevelLowerSecondary): "THCS",
	string(campaign.LevelUpperSecondary): "THPT",
}

var circumstanceLabels = map[string]string{
	string(campaign.CircumstancePoor):            "Hộ nghèo",
	string(campaign.CircumstanceNearPoor):        "Hộ cận nghèo",
	string(campaign.CircumstanceOrphanOneCovid):  "Mồ côi cha hoặc mẹ do Covid-19",
	string(campaign.CircumstanceOrphanBothCovid): "Mồ côi cả cha lẫn mẹ do Covid-19",
	string(campaign.CircumstanceCovidHardship):   "Gia đình khó khăn do Covid-19",
	string(campaign.CircumstanceOther):           "Khác",
}

var situationLabels = map[string]string{
	string(campaign.SituationNone):        "Chưa có thiết bị nào",
	string(campaign.SituationSharesPhone): "Dùng chung điện thoại của cha mẹ",
	string(campaign.SituationBroken):      "Thiết bị bị hỏng",
}

var needLabels = map[string]string{
	string(campaign.NeedLaptop):          "Laptop",
	string(campaign.NeedDesktop):         "Máy tính để bàn",
	string(campaign.NeedTablet):          "Máy tính bảng",
	string(campaign.NeedSmartphone):      "Điện thoại thông minh",
	string(campaign.NeedSIM4G):           "SIM 4G",
	string(campaign.NeedUSBWiFi):         "USB Wi-Fi",
	string(campaign.NeedInternetPackage): "Gói cước Internet",
}

var deviceTypeLabels = map[string]string{
	string(campaign.DeviceLaptop):     "Laptop",
	string(campaign.DeviceDesktop):    "Máy tính để bàn",
	string(campaign.DeviceTablet):     "Máy tính bảng",
	string(campaign.DeviceSmartphone): "Điện thoại thông minh",
}

var deviceStateLabels = map[string]string{
	string(campaign.DevicePledged):    "đã hứa tặng",
	string(campaign.DeviceReceived):   "đã nhận",
	string(campaign.DeviceChecking):   "đang kiểm tra",
	string(campaign.DeviceReady):      "sẵn sàng",
	string(campaign.DeviceNeedsParts): "cần linh kiện",
	string(campaign.DeviceUnusable):   "không dùng được",
	string(campaign.DeviceAllocated):  "đã phân bổ",
	string(campaign.DeviceDelivered):  "đã trao",
	string(campaign.DeviceReturned):   "bị trả lại",
}

var stockLabels = map[string]string{
	string(campaign.StockSIM4G):           "SIM 4G",
	string(campaign.StockUSBWiFi):         "USB Wi-Fi",
	string(campaign.StockInternetPackage): "Gói cước Internet",
}

var donorKindLabels = map[string]string{
	string(campaign.DonorIndividual):      "Cá nhân",
	string(campaign.DonorBusiness):        "Doanh nghiệp",
	string(campaign.DonorOrganisation):    "Tổ chức",
	string(campaign.DonorReligious):       "Cơ sở tôn giáo",
	string(campaign.DonorParentsCouncil):  "Ban đại diện cha mẹ học sinh",
	string(campaign.DonorTelecomOperator): "Nhà mạng viễn thông",
}

var pledgeStatusLabels = map[string]string{
	string(campaign.PledgeOpen):      "đã ghi nhận",
	string(campaign.PledgePartly):    "đã nhận một phần",
	string(campaign.PledgeReceived):  "đã nhận đủ",
	string(campaign.PledgeCancelled): "đã hủy",
}

var deliveryMethodLabels = map[string]string{
	string(campaign.DeliverToWard):   "Mang đến UBND phường",
	string(campaign.DeliverToFront):  "Mang đến Ủy ban MTTQ",
	string(campaign.DeliverByPickup): "Nhờ đến nhận tại địa chỉ",
}

var deliveryStatusLabels = map[string]string{
	string(campaign.DeliveryPending):   "chờ trao",
	string(campaign.DeliveryDelivered): "đã trao",
	string(campaign.DeliveryConfirmed): "gia đình đã xác nhận",
}

var handoverLabels = map[string]string{
	string(campaign.HandoverHome):   "Tại nhà",
	string(campaign.HandoverSchool): "Tại trường",
}

var failReasonLabels = map[string]string{
	string(campaign.FailNotHome):      "Gia đình vắng nhà",
	string(campaign.FailWrongAddress): "Sai địa chỉ",
	string(campaign.FailOther):        "Lý do khác",
	string(campaign.FailNotReceived):  "Phụ huynh báo chưa nhận được",
}

// staffRoleLabels name the role of the staff member who took a step, after their name.
var staffRoleLabels = map[string]string{
	string(campaign.RoleAdmin):           "Quản trị viên",
	string(campaign.RoleCityOfficial):    "Cán bộ thành phố",
	string(campaign.RoleEducationOffice): "Phòng Giáo dục",
	string(campaign.RoleWardOfficial):    "Cán bộ phường",
	string(campaign.RoleWomensUnion):     "Hội Phụ nữ phường",
	string(campaign.RoleVolunteer):       "Tình nguyện viên Đoàn",
	string(campaign.RoleCultureInfo):     "Phòng Văn hóa – Thông tin",
	string(campaign.RoleSchool):          "Cán bộ trường",
	StaffUnknown:                         "cán bộ",
}

// StaffUnknown is the role the Source gives a staff member it knows only as staff (no longer
// in the staff table, or an administrator named in the configuration): the cell says "cán bộ",
// never their chat id.
const StaffUnknown = "staff"

// sourceLabels say how a registration came (campaign.Source).
var sourceLabels = map[string]string{
	string(campaign.SourceChat):     "Gia đình tự đăng ký",
	string(campaign.SourceList):     "Danh sách trường/phường",
	string(campaign.SourceAssisted): "Cán bộ đăng ký giúp",
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
	ConsentChat:     "Phụ huynh đồng ý qua tin nhắn",
	ConsentInPerson: "Trực tiếp, có cán bộ chứng kiến",
	ConsentList:     "Theo danh sách trường/phường",
}

// noSchool names the row of the registrations that name no school (erased ones).
const noSchool = "(không ghi trường)"

// Origins of a device, as the Source gives them in the "origin" field.
const (
	OriginPledge   = "pledge"   // from a donor's pledge
	OriginPurchase = "purchase" // bought with money given to the campaign
	OriginWalkIn   = "walk_in"  // given at a ward office or the Front without a pledge
)

var originLabels = map[string]string{
	OriginPurchase: "mua bằng tiền ủng hộ",
	OriginWalkIn:   "tặng trực tiếp",
}

// itemNouns name what a pledge line gives, as counted in its summary ("2 laptop").
var itemNouns = map[campaign.ItemKind]string{
	campaign.ItemLaptop:          "laptop",
	campaign.ItemDesktop:         "bộ máy tính để bàn",
	campaign.ItemTablet:          "máy tính bảng",
	campaign.ItemSmartphone:      "điện thoại thông minh",
	campaign.ItemSIM4G:           "SIM 4G",
	campaign.ItemUSBWiFi:         "USB Wi-Fi",
	campaign.ItemInternetPackage: "gói cước Internet",
}

// Words of the yes/no columns and of the anonymous donor.
const (
	yes       = "có"
	no        = "không"
	anonymous = "Ẩn danh"
)
