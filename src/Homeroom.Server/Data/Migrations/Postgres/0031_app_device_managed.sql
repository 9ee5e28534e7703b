-- Homeroom schema v31 (PostgreSQL): whether an app on an iPad is managed by Homeroom's MDM, as the device's
-- ManagedApplicationList last said (or Homeroom's own install confirmed); NULL while unknown. An
-- unsupervised iPad lets MDM remove only managed apps, so a blocked app there is removed when managed and
-- "not applicable" otherwise.
ALTER TABLE app_device_status ADD COLUMN managed boolean NULL;
