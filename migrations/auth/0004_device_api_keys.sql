-- API keys bound to a device (ApiKey.device, `users/{user}/devices/{device}`; '' for a key of the
-- user's own). Deleting the device revokes its keys (RevokeDeviceApiKeys), found by this index.
ALTER TABLE auth.api_keys ADD COLUMN device text NOT NULL DEFAULT '';
CREATE INDEX ix_api_keys_user_id_device ON auth.api_keys (user_id, device)
    WHERE revoke_time IS NULL AND device <> '';
