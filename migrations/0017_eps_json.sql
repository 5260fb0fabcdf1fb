-- EPS keeps its messages (the signed prescription order, dispense notifications and claims, line
-- items before a withdrawal) as json, the text as written, rather than jsonb: they are only ever
-- stored and given back whole, never queried inside, and jsonb's conversion and TOAST compression
-- of a signed bundle made its insert the costliest statement of a prescription's lifecycle
-- (`npm run bench -- eps-lifecycle --statements`).
alter table eps_prescription alter column bundle type json using bundle::json;
alter table eps_event alter column items_before type json using items_before::json;
alter table eps_event alter column message type json using message::json;
