// Package campaign is the domain of the "Sóng và máy tính cho em" device campaign: the campaign
// configuration (wards, target, schedule), students and their registrations, coded errors, text
// normalisation, and the store interfaces that the storage packages implement. Apart from
// LoadFile, which reads a campaign file, it does no I/O: the stores, channels and jobs that do
// live in the packages that implement its interfaces.
package campaign
