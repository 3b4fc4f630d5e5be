-- Where each queued generation stands on its way upstream, indexed. The dispatcher asks
-- "queued and waiting to be sent", "queued and sent without an answer" and "in flight"
-- on every round; with only (status, next_check_at) each of those walked every queued row
-- and looked up its `dispatch`, so a backlog of N queued generations made every round O(N):
-- a burst slowed down its own submissions. With `dispatch` in the index each question reads
-- only the rows it is about.
CREATE INDEX generations_dispatch_due ON generations (status, dispatch, next_check_at);
