-- Demo patients and devices for the local run (deploy/local/up.sh), all of
-- app `demo`. Idempotent, and it puts the demo rows back as described here
-- on every run (a token cleared by a dead-token answer, a changed inbound
-- setting), so the examples that up.sh prints keep working. Other rows are
-- left alone. The device ids are the ones the API document uses.
--
--   +447777123456 (active)
--     cbc16ed8-0422-456f-9e15-f269b8a25811  iPhone: VoIP and push tokens
--     7d7e2fdb-416d-4dc8-a545-e42ee157ef03  Android phone: one FCM token
--     c1a21fce-8660-4c69-a98d-820a50154f93  iPad: refuses inbound calls (403)
--   +447911123456 (inactive)
--     0b5e3c2a-1d4f-4e6a-8b7c-9d0e1f2a3b4c  iPhone (never valid: 404)
BEGIN;

-- By number, so a patient registered with callpushctl is reused.
INSERT INTO patients (id, mobile_number, active) VALUES
  ('6f1c1e0a-8a51-4a43-9a55-0d0f2d9c0001', '+447777123456', true),
  ('6f1c1e0a-8a51-4a43-9a55-0d0f2d9c0002', '+447911123456', false)
ON CONFLICT (mobile_number) DO UPDATE
  SET active = EXCLUDED.active, updated_at = now()
  WHERE patients.active IS DISTINCT FROM EXCLUDED.active;

-- created_at orders callable-devices' answer: the iPhone, then the Android
-- phone, as in the API document's example. It is kept on later runs.
INSERT INTO devices (id, patient_id, platform, app, environment, voip_token,
                     push_token, inbound_calls_allowed, created_at)
SELECT d.id::uuid, p.id, d.platform, 'demo', d.environment, d.voip_token,
       d.push_token, d.inbound_calls_allowed,
       now() - d.age_minutes * interval '1 minute'
FROM (VALUES
  -- iPhone: PushKit (VoIP) and regular APNs tokens, hex like Apple's.
  ('cbc16ed8-0422-456f-9e15-f269b8a25811', '+447777123456', 'ios', 'sandbox',
   '0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9',
   'ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100', true, 4),
  -- Android: one FCM registration token serves both.
  ('7d7e2fdb-416d-4dc8-a545-e42ee157ef03', '+447777123456', 'android', NULL,
   'demo-fcm-token:APA91bH-android-1', 'demo-fcm-token:APA91bH-android-1', true, 3),
  -- An iPad whose user refuses inbound VoIP calls: call answers 403.
  ('c1a21fce-8660-4c69-a98d-820a50154f93', '+447777123456', 'ios', 'sandbox',
   'aa00bb11cc22dd33ee44ff5566778899aa00bb11cc22dd33ee44ff5566778899',
   NULL, false, 2),
  -- A device of the inactive patient: never valid, every operation 404.
  ('0b5e3c2a-1d4f-4e6a-8b7c-9d0e1f2a3b4c', '+447911123456', 'ios', 'sandbox',
   '0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef',
   NULL, true, 1)
) AS d (id, mobile_number, platform, environment, voip_token, push_token,
        inbound_calls_allowed, age_minutes)
JOIN patients p ON p.mobile_number = d.mobile_number
ON CONFLICT (id) DO UPDATE
  SET patient_id = EXCLUDED.patient_id, platform = EXCLUDED.platform,
      app = EXCLUDED.app, environment = EXCLUDED.environment,
      voip_token = EXCLUDED.voip_token, push_token = EXCLUDED.push_token,
      inbound_calls_allowed = EXCLUDED.inbound_calls_allowed,
      token_updated_at = now(), updated_at = now()
  WHERE (devices.patient_id, devices.platform, devices.app,
         devices.environment, devices.voip_token, devices.push_token,
         devices.inbound_calls_allowed)
        IS DISTINCT FROM
        (EXCLUDED.patient_id, EXCLUDED.platform, EXCLUDED.app,
         EXCLUDED.environment, EXCLUDED.voip_token, EXCLUDED.push_token,
         EXCLUDED.inbound_calls_allowed);

COMMIT;
