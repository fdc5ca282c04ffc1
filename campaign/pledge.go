package campaign

import "time"

// DonorKind is who is giving.
type DonorKind string

// Donor kinds, as the plan names them.
const (
	DonorIndividual      DonorKind = "individual"       // cá nhân
	DonorBusiness        DonorKind = "business"         // doanh nghiệp
	DonorOrganisation    DonorKind = "organisation"     // tổ chức
	DonorReligious       DonorKind = "religious"        // cơ sở tôn giáo
	DonorParentsCouncil  DonorKind = "parents_council"  // ban đại diện cha mẹ học sinh
	DonorTelecomOperator DonorKind = "telecom_operator" // nhà mạng viễn thông
)

// DonorKinds lists the donor kinds in the order they are offered.
var DonorKinds = []DonorKind{DonorIndividual, DonorBusiness, DonorOrganisation, DonorReligious, DonorParentsCouncil, DonorTelecomOperator}

// HasContactPerson reports whether the donor is a body that names a contact person.
func (k DonorKind) HasContactPerson() bool { return k != DonorIndividual }

// ItemKind is what one line of a pledge gives.
type ItemKind string

// Item kinds: a device type, a stock kind, or money.
const (
	ItemLaptop                   = ItemKind(DeviceLaptop)
	ItemDesktop                  = ItemKind(DeviceDesktop)
	ItemTablet                   = ItemKind(DeviceTablet)
	ItemSmartphone               = ItemKind(DeviceSmartphone)
	ItemSIM4G                    = ItemKind(StockSIM4G)
	ItemUSBWiFi                  = ItemKind(StockUSBWiFi)
	ItemInternetPackage          = ItemKind(StockInternetPackage)
	ItemMoney           ItemKind = "money"
)

// ItemKinds lists the item kinds in the order they are offered.
var ItemKinds = []ItemKind{ItemLaptop, ItemDesktop, ItemTablet, ItemSmartphone, ItemSIM4G, ItemUSBWiFi, ItemInternetPackage, ItemMoney}

// IsDevice reports whether the item is devices checked one by one.
func (k ItemKind) IsDevice() bool {
	switch k {
	case ItemLaptop, ItemDesktop, ItemTablet, ItemSmartphone:
		return true
	}
	return false
}

// PledgeItem is one line of a pledge.
type PledgeItem struct {
	Kind     ItemKind
	Quantity int  // devices, SIMs, USB Wi-Fi, packages; 0 for money
	Used     bool // devices: used rather than new
	// Complete is the donor's word that the devices connect to the internet and come with
	// charger and cables (for a desktop: monitor, CPU, keyboard, mouse, microphone and camera).
	// Devices without it are taken but flagged as needing parts.
	Complete bool
	Months   int   // internet packages: months of service
	Amount   int64 // money, in VND
}

// DeliveryMethod is how a pledge reaches the campaign.
type DeliveryMethod string

// Delivery methods.
const (
	DeliverToWard   DeliveryMethod = "ward_office" // brought to a ward office
	DeliverToFront  DeliveryMethod = "front"       // brought to the Fatherland Front
	DeliverByPickup DeliveryMethod = "pickup"      // picked up at an address on a date
)

// PledgeStatus is where a pledge stands.
type PledgeStatus string

// Pledge statuses.
const (
	PledgeOpen      PledgeStatus = "pledged"   // promised
	PledgePartly    PledgeStatus = "partly"    // some of it received
	PledgeReceived  PledgeStatus = "received"  // all of it received
	PledgeCancelled PledgeStatus = "cancelled" // withdrawn
)

// Pledge is what a donor promises.
type Pledge struct {
	ID            int64
	Code          string // e.g. PL-000045
	Status        PledgeStatus
	Channel       string
	ChatID        string
	UserID        string
	Language      string
	DonorKind     DonorKind
	DonorName     string // the person, or the organisation
	ContactPerson string // for bodies
	Phone         string // E.164
	Items         []PledgeItem
	Delivery      DeliveryMethod
	WardCode      string    // DeliverToWard
	PickupAddress string    // DeliverByPickup
	PickupDate    time.Time // DeliverByPickup, a date
	Anonymous     bool      // not named in public thanks
	// IdempotencyKey makes a retried submit return the first record.
	IdempotencyKey string
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// Device is one device in the pipeline.
type Device struct {
	ID         int64
	Label      string // e.g. TB-000123, written on the device
	Type       DeviceType
	State      DeviceState
	PledgeCode string // "" for a walk-in gift or a device bought with money
	MoneyID    int64  // the money record it was bought with, 0 otherwise
	Brand      string
	Model      string
	Serial     string // serial number or IMEI, optional
	Used       bool
	Checks     map[CheckItem]bool
	Wiped      bool
	Cleaned    bool
	PartsAdded string
	// SoftwareLevel is the school level whose learning software was installed.
	SoftwareLevel SchoolLevel
	Note          string
	CheckedBy     string // "<channel>:<id>" of the volunteer
	// Delivery is the code of the pending delivery that holds the device (GH-000012), "" when
	// none: a volunteer's moves of it by hand then follow Device.MoveByHand.
	Delivery string
	// IdempotencyKey makes IntakeDevice safe to repeat: a second intake with it writes nothing.
	IdempotencyKey string
	CreatedAt      time.Time
	UpdatedAt      time.Time
}
