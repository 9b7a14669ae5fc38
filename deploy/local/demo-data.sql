-- Demo patients and devices for the local run. Idempotent: fixed ids, and
-- existing rows are left as they are. The device ids are the ones the API
-- document uses in its examples.
INSERT INTO patients (id, mobile_number, active) VALUES
  ('6f1c1e0a-8a51-4a43-9a55-0d0f2d9c0001', '+447777123456', true),
  ('6f1c1e0a-8a51-4a43-9a55-0d0f2d9c0002', '+447911123456', false)
ON CONFLICT DO NOTHING;

INSERT INTO devices (id, patient_id, platform, app, environment, voip_token,
                     push_token, inbound_calls_allowed) VALUES
  -- iPhone: VoIP (PushKit) and regular APNs tokens.
  ('cbc16ed8-0422-456f-9e15-f269b8a25811', '6f1c1e0a-8a51-4a43-9a55-0d0f2d9c0001',
   'ios', 'demo', 'sandbox',
   '0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9',
   'ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100', true),
  -- Android: one FCM token serves both.
  ('7d7e2fdb-416d-4dc8-a545-e42ee157ef03', '6f1c1e0a-8a51-4a43-9a55-0d0f2d9c0001',
   'android', 'demo', NULL, 'demo-fcm-token:APA91bH-android-1', 'demo-fcm-token:APA91bH-android-1', true),
  -- An iPad whose user refuses inbound VoIP calls (call answers 403).
  ('c1a21fce-8660-4c69-a98d-820a50154f93', '6f1c1e0a-8a51-4a43-9a55-0d0f2d9c0001',
   'ios', 'demo', 'sandbox',
   'aa00bb11cc22dd33ee44ff5566778899aa00bb11cc22dd33ee44ff5566778899',
   NULL, false),
  -- A device of an inactive patient (never callable: 404).
  ('0b5e3c2a-1d4f-4e6a-8b7c-9d0e1f2a3b4c', '6f1c1e0a-8a51-4a43-9a55-0d0f2d9c0002',
   'ios', 'demo', 'sandbox',
   '0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef', NULL, true)
ON CONFLICT DO NOTHING;
