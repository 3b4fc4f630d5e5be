-- Several Kie keys: each key's in-flight cap counts the generations sent with it.
CREATE INDEX generations_by_upstream_key ON generations (upstream_key, status);
