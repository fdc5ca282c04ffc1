-- +goose Up

-- A device may be handed over more than once. Migration 00006 made deliveries.device_id unique
-- across every delivery, but a device's delivered and confirmed deliveries stay as its history:
-- a device that came back (the family moved, the device failed) and was moved by hand
-- returned, checking, ready could never be allocated again, every allocation of it failing on
-- the constraint. What must hold is narrower: a device is on at most one delivery waiting to be
-- handed over. The case work keeps it so without meeting the index (CaseStore.ConfirmAllocations
-- does not allocate a device a pending delivery holds; CaseStore.ReportNotReceived does not
-- reopen a delivery whose device went to another child since); the index stops any other path.
-- Look-ups of a device's pending delivery (selectDevices, lockHoldingDelivery) use it.
ALTER TABLE deliveries DROP CONSTRAINT deliveries_device_id_key;
CREATE UNIQUE INDEX deliveries_device_pending_key ON deliveries (device_id) WHERE status = 'pending';
-- Every delivery of a device, for its history and for the check of a later one.
CREATE INDEX deliveries_device_idx ON deliveries (device_id, id) WHERE device_id IS NOT NULL;

-- +goose Down
-- Down fails (a duplicate key) once a device has been allocated twice since Up, as it must: the
-- constraint of 00006 cannot hold over such a history, and deleting a delivery would lose it.
DROP INDEX deliveries_device_idx;
DROP INDEX deliveries_device_pending_key;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_device_id_key UNIQUE (device_id);
