-- A usage ledger at schema version 1, as magray-lsp wrote it before prompt-cache columns
-- (made with that version's cost/ledger.py); tests/unit/cost/test_ledger_migration.py
BEGIN TRANSACTION;
CREATE TABLE outages (
        id INTEGER PRIMARY KEY, provider TEXT NOT NULL, started REAL NOT NULL, ended REAL
    );
INSERT INTO "outages" VALUES(1,'anthropic',1750003800.5,NULL);
CREATE TABLE requests (
        id TEXT PRIMARY KEY,
        ts REAL NOT NULL,
        workspace TEXT NOT NULL,
        action TEXT NOT NULL,
        source_path TEXT NOT NULL,
        provider TEXT NOT NULL,
        model TEXT NOT NULL,
        input_tokens INTEGER NOT NULL,
        output_tokens INTEGER NOT NULL,
        cached_input_tokens INTEGER NOT NULL,
        cost_usd TEXT,
        cost_pico INTEGER,
        estimated_usd TEXT,
        saved_usd TEXT,
        saved_pico INTEGER,
        latency_ms REAL NOT NULL,
        latency_bucket INTEGER NOT NULL,
        first_token_ms REAL,
        cached INTEGER NOT NULL,
        fallback_chain TEXT NOT NULL,
        fallback_count INTEGER NOT NULL,
        outcome TEXT NOT NULL
            CHECK (outcome IN ('ok', 'error', 'cancelled', 'budget_refused')),
        error_type TEXT
    );
INSERT INTO "requests" VALUES('a1',1750000010.0,'/w','explain','/w/a.py','openai','gpt-4o',3000,200,2048,'0.00509',5090000000,NULL,NULL,NULL,500.0,143,NULL,0,'[]',0,'ok',NULL);
INSERT INTO "requests" VALUES('a2',1750000020.0,'/w','explain','/w/a.py','openai','gpt-4o',1500,100,0,'0.00475',4750000000,NULL,NULL,NULL,500.0,143,NULL,0,'[]',0,'ok',NULL);
INSERT INTO "requests" VALUES('a3',1750000030.0,'/w','explain','/w/a.py','openai','gpt-4o',3000,200,1024,'0',0,NULL,'0.00509',5090000000,500.0,143,NULL,1,'[]',0,'ok',NULL);
INSERT INTO "requests" VALUES('b1',1750003700.0,'/w','explain','/w/a.py','anthropic','claude-3-5-haiku-latest',2500,90,2100,'0.0006',600000000,NULL,NULL,NULL,500.0,143,NULL,0,'[]',0,'ok',NULL);
INSERT INTO "requests" VALUES('b2',1750003800.0,'/w','explain','/w/a.py','anthropic','claude-3-5-haiku-latest',2500,0,0,NULL,NULL,NULL,NULL,NULL,500.0,143,NULL,0,'[]',0,'error','ServerError');
CREATE TABLE reservations (
        id TEXT PRIMARY KEY,
        request_id TEXT NOT NULL,
        amount_usd TEXT NOT NULL,
        amount_pico INTEGER NOT NULL,
        created REAL NOT NULL,
        expires REAL NOT NULL
    );
CREATE TABLE rollup (
        hour INTEGER NOT NULL, workspace TEXT NOT NULL, provider TEXT NOT NULL,
        model TEXT NOT NULL, first_ts REAL NOT NULL,
        requests INTEGER NOT NULL, ok INTEGER NOT NULL, errors INTEGER NOT NULL, cancelled INTEGER NOT NULL, budget_refused INTEGER NOT NULL, cache_hits INTEGER NOT NULL, fallbacks INTEGER NOT NULL, cost_pico INTEGER NOT NULL, priced INTEGER NOT NULL, unpriced INTEGER NOT NULL, saved_pico INTEGER NOT NULL, input_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL,
        PRIMARY KEY (hour, workspace, provider, model)
    );
INSERT INTO "rollup" VALUES(486111,'/w','openai','gpt-4o',1750000010.0,3,3,0,0,0,1,0,9840000000,3,0,5090000000,7500,500);
INSERT INTO "rollup" VALUES(486112,'/w','anthropic','claude-3-5-haiku-latest',1750003700.0,2,1,1,0,0,0,0,600000000,1,1,0,5000,90);
CREATE TABLE rollup_attempts (
        hour INTEGER NOT NULL, workspace TEXT NOT NULL, provider TEXT NOT NULL,
        attempts INTEGER NOT NULL, ok INTEGER NOT NULL,
        PRIMARY KEY (hour, workspace, provider)
    );
INSERT INTO "rollup_attempts" VALUES(486111,'/w','openai',2,2);
INSERT INTO "rollup_attempts" VALUES(486112,'/w','anthropic',2,1);
CREATE TABLE rollup_latency (
        day INTEGER NOT NULL, workspace TEXT NOT NULL, provider TEXT NOT NULL,
        model TEXT NOT NULL, latency_bucket INTEGER NOT NULL, n INTEGER NOT NULL,
        PRIMARY KEY (day, workspace, provider, model, latency_bucket)
    );
INSERT INTO "rollup_latency" VALUES(20254,'/w','openai','gpt-4o',143,2);
INSERT INTO "rollup_latency" VALUES(20254,'/w','anthropic','claude-3-5-haiku-latest',143,1);
CREATE INDEX requests_ts ON requests (ts);
CREATE INDEX requests_latency ON requests (latency_bucket, latency_ms, ts, provider, model, workspace) WHERE outcome = 'ok' AND cached = 0;
CREATE INDEX outages_open ON outages (provider, ended);
CREATE INDEX outages_started ON outages (started, provider, ended);
CREATE TRIGGER requests_rollup AFTER INSERT ON requests BEGIN
        INSERT INTO rollup (hour, workspace, provider, model, first_ts, requests, ok, errors, cancelled, budget_refused, cache_hits, fallbacks, cost_pico, priced, unpriced, saved_pico, input_tokens, output_tokens)
        VALUES (CAST(NEW.ts / 3600 AS INTEGER), NEW.workspace, NEW.provider, NEW.model, NEW.ts, (1), (NEW.outcome = 'ok'), (NEW.outcome = 'error'), (NEW.outcome = 'cancelled'), (NEW.outcome = 'budget_refused'), (NEW.cached), (NEW.fallback_count > 0), (COALESCE(NEW.cost_pico, 0)), (NEW.cost_pico IS NOT NULL), (NEW.cost_pico IS NULL AND NEW.input_tokens + NEW.output_tokens > 0), (COALESCE(NEW.saved_pico, 0)), (NEW.input_tokens), (NEW.output_tokens))
        ON CONFLICT (hour, workspace, provider, model) DO UPDATE SET
            first_ts = MIN(first_ts, excluded.first_ts), requests = requests + excluded.requests, ok = ok + excluded.ok, errors = errors + excluded.errors, cancelled = cancelled + excluded.cancelled, budget_refused = budget_refused + excluded.budget_refused, cache_hits = cache_hits + excluded.cache_hits, fallbacks = fallbacks + excluded.fallbacks, cost_pico = cost_pico + excluded.cost_pico, priced = priced + excluded.priced, unpriced = unpriced + excluded.unpriced, saved_pico = saved_pico + excluded.saved_pico, input_tokens = input_tokens + excluded.input_tokens, output_tokens = output_tokens + excluded.output_tokens;
        INSERT INTO rollup_latency (day, workspace, provider, model, latency_bucket, n)
        SELECT CAST(NEW.ts / 86400 AS INTEGER), NEW.workspace, NEW.provider, NEW.model, NEW.latency_bucket, 1
        WHERE NEW.outcome = 'ok' AND NEW.cached = 0
        ON CONFLICT (day, workspace, provider, model, latency_bucket) DO UPDATE SET n = n + 1;
        INSERT INTO rollup_attempts (hour, workspace, provider, attempts, ok)
        SELECT CAST(NEW.ts / 3600 AS INTEGER), NEW.workspace, CASE WHEN instr(j.value, '/') > 0 THEN substr(j.value, 1, instr(j.value, '/') - 1) ELSE j.value END, COUNT(*), 0 FROM json_each(NEW.fallback_chain) AS j
        WHERE NEW.cached = 0 GROUP BY 3
        ON CONFLICT (hour, workspace, provider) DO UPDATE SET
            attempts = attempts + excluded.attempts;
        INSERT INTO rollup_attempts (hour, workspace, provider, attempts, ok)
        SELECT CAST(NEW.ts / 3600 AS INTEGER), NEW.workspace, NEW.provider, 1, NEW.outcome = 'ok'
        WHERE (NEW.cached = 0 AND (NEW.outcome = 'ok' OR (NEW.outcome = 'error' AND COALESCE(NEW.error_type, '') NOT IN ('BadRequest', 'ContentFiltered', 'ContextTooLong', 'InvalidAnswer'))))
        ON CONFLICT (hour, workspace, provider) DO UPDATE SET
            attempts = attempts + 1, ok = ok + excluded.ok;
        INSERT INTO outages (provider, started)
        SELECT DISTINCT CASE WHEN instr(j.value, '/') > 0 THEN substr(j.value, 1, instr(j.value, '/') - 1) ELSE j.value END, NEW.ts FROM json_each(NEW.fallback_chain) AS j
        WHERE NEW.cached = 0 AND NOT EXISTS
            (SELECT 1 FROM outages AS o WHERE o.provider = CASE WHEN instr(j.value, '/') > 0 THEN substr(j.value, 1, instr(j.value, '/') - 1) ELSE j.value END AND o.ended IS NULL);
        INSERT INTO outages (provider, started)
        SELECT NEW.provider, NEW.ts + NEW.latency_ms / 1000.0
        WHERE (NEW.cached = 0 AND (NEW.outcome = 'ok' OR (NEW.outcome = 'error' AND COALESCE(NEW.error_type, '') NOT IN ('BadRequest', 'ContentFiltered', 'ContextTooLong', 'InvalidAnswer')))) AND NEW.outcome = 'error' AND NOT EXISTS
            (SELECT 1 FROM outages AS o WHERE o.provider = NEW.provider AND o.ended IS NULL);
        UPDATE outages SET ended = MAX(started, NEW.ts + NEW.latency_ms / 1000.0)
        WHERE provider = NEW.provider AND ended IS NULL AND NEW.outcome = 'ok' AND NEW.cached = 0;
    END;
CREATE INDEX reservations_expires ON reservations (expires);
COMMIT;
