BEGIN TRANSACTION;
CREATE TABLE outages (
        id INTEGER PRIMARY KEY, provider TEXT NOT NULL, started REAL NOT NULL, ended REAL
    );
INSERT INTO "outages" VALUES(1,'openai',1750001234.5,1750002498.821);
INSERT INTO "outages" VALUES(2,'anthropic',1750001234.5,1750001332.694);
INSERT INTO "outages" VALUES(3,'ollama',1750001331.5,1750001915.519);
INSERT INTO "outages" VALUES(4,'anthropic',1750001428.5,1750002107.741);
INSERT INTO "outages" VALUES(5,'anthropic',1750002401.051,1750002884.161);
INSERT INTO "outages" VALUES(6,'ollama',1750002495.5,1750003663.467);
INSERT INTO "outages" VALUES(7,'openai',1750002883.5,1750004533.759);
INSERT INTO "outages" VALUES(8,'anthropic',1750003176.564,1750003371.211);
INSERT INTO "outages" VALUES(9,'anthropic',1750003659.5,1750003757.708);
INSERT INTO "outages" VALUES(10,'anthropic',1750004823.5,1750004922.308);
INSERT INTO "outages" VALUES(11,'ollama',1750004823.5,1750006184.509);
INSERT INTO "outages" VALUES(12,'openai',1750005211.5,1750005408.04);
INSERT INTO "outages" VALUES(13,'anthropic',1750005308.5,1750005503.706);
INSERT INTO "outages" VALUES(14,'anthropic',1750005599.5,1750005795.454);
INSERT INTO "outages" VALUES(15,'openai',1750005599.5,1750005698.309);
INSERT INTO "outages" VALUES(16,'openai',1750006084.5,1750006860.808);
INSERT INTO "outages" VALUES(17,'ollama',1750006278.5,1750006376.299);
INSERT INTO "outages" VALUES(18,'openai',1750007248.5,1750007733.551);
INSERT INTO "outages" VALUES(19,'ollama',1750007248.5,1750007636.947);
INSERT INTO "outages" VALUES(20,'ollama',1750007830.5,1750007928.686);
INSERT INTO "outages" VALUES(21,'openai',1750007830.5,1750008414.03);
INSERT INTO "outages" VALUES(22,'anthropic',1750007927.5,1750008512.195);
INSERT INTO "outages" VALUES(23,'openai',1750008509.5,1750008703.926);
INSERT INTO "outages" VALUES(24,'ollama',1750008703.5,1750008998.059);
INSERT INTO "outages" VALUES(25,'anthropic',1750008703.5,1750008801.596);
INSERT INTO "outages" VALUES(26,'openai',1750009188.5,1750009287.748);
INSERT INTO "outages" VALUES(27,'ollama',1750009188.5,1750009481.105);
INSERT INTO "outages" VALUES(28,'anthropic',1750009382.5,1750009773.318);
INSERT INTO "outages" VALUES(29,'openai',1750010061.5,1750010743.081);
INSERT INTO "outages" VALUES(30,'ollama',1750010061.5,1750011033.646);
INSERT INTO "outages" VALUES(31,'anthropic',1750010259.297,1750010354.488);
INSERT INTO "outages" VALUES(32,'anthropic',1750010644.374,1750010936.504);
INSERT INTO "outages" VALUES(33,'openai',1750011128.5,1750011615.528);
INSERT INTO "outages" VALUES(34,'ollama',1750011225.5,1750011811.278);
INSERT INTO "outages" VALUES(35,'anthropic',1750011516.5,1750012196.316);
INSERT INTO "outages" VALUES(36,'openai',1750012195.5,1750012973.11);
INSERT INTO "outages" VALUES(37,'ollama',1750012195.5,1750012389.801);
INSERT INTO "outages" VALUES(38,'ollama',1750012583.5,1750013556.87);
INSERT INTO "outages" VALUES(39,'anthropic',1750012583.5,1750012683.893);
INSERT INTO "outages" VALUES(40,'anthropic',1750012777.5,1750012876.086);
INSERT INTO "outages" VALUES(41,'anthropic',1750013068.614,1750013263.93);
INSERT INTO "outages" VALUES(42,'anthropic',1750013553.5,1750014137.279);
INSERT INTO "outages" VALUES(43,'openai',1750013553.5,1750013654.468);
INSERT INTO "outages" VALUES(44,'openai',1750014038.5,1750014329.852);
INSERT INTO "outages" VALUES(45,'anthropic',1750014620.9,1750015399.948);
INSERT INTO "outages" VALUES(46,'openai',1750014718.172,1750015105.706);
INSERT INTO "outages" VALUES(47,'ollama',1750014816.085,1750015202.97);
INSERT INTO "outages" VALUES(48,'openai',1750015299.5,1750015881.727);
INSERT INTO "outages" VALUES(49,'ollama',1750015396.5,1750015786.982);
INSERT INTO "outages" VALUES(50,'anthropic',1750015688.579,1750016271.109);
INSERT INTO "outages" VALUES(51,'openai',1750015978.5,1750016367.165);
INSERT INTO "outages" VALUES(52,'ollama',1750016463.5,NULL);
INSERT INTO "outages" VALUES(53,'anthropic',1750016560.5,1750016659.812);
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
        error_type TEXT,
        cache_write_tokens INTEGER NOT NULL DEFAULT 0,
        uncached_usd TEXT,
        uncached_pico INTEGER,
        tokens_estimated INTEGER NOT NULL DEFAULT 0,
        price_assumed INTEGER NOT NULL DEFAULT 0
    );
INSERT INTO "requests" VALUES('r000',1750001234.5,'/w/a','explain','','ollama','x',2758,63,0,'0.0002570',257000000,NULL,NULL,NULL,513.0,144,NULL,0,'["openai/gpt-4o-mini", "anthropic/claude-3-5-haiku-latest"]',2,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r001',1750001331.5,'/w/a','explain','','anthropic','claude-3-5-haiku-latest',3094,231,0,'0.0006688',668800000,NULL,NULL,NULL,1194.0,163,NULL,0,'["openai/gpt-4o-mini", "ollama/x"]',2,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r002',1750001428.5,'/w/a','explain','','openai','gpt-4o-mini',668,0,0,'0.0007289',728900000,NULL,NULL,NULL,568.0,146,NULL,0,'["anthropic/claude-3-5-haiku-latest"]',1,'error','Timeout',0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r003',1750001525.5,'/w/a','explain','','openai','gpt-4o-mini',3268,0,0,'0.0003531',353100000,NULL,NULL,NULL,3982.0,191,NULL,0,'[]',0,'cancelled',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r004',1750001622.5,'/w/a','document','','openai','gpt-4o-mini',914,0,0,'0.0008835',883500000,NULL,NULL,NULL,3638.0,189,NULL,0,'[]',0,'error','Timeout',0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r005',1750001719.5,'/w/a','document','','openai','gpt-4o-mini',1323,0,0,'0.0000354',35400000,NULL,NULL,NULL,1529.0,169,NULL,0,'[]',0,'error','BadRequest',0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r006',1750001816.5,'/w/a','explain','','openai','gpt-4o-mini',1459,0,0,'0.0004938',493800000,NULL,NULL,NULL,3398.0,187,NULL,0,'[]',0,'error','ContentFiltered',0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r007',1750001913.5,'/w/a','explain','','ollama','x',1369,373,0,'0.0005015',501500000,NULL,NULL,NULL,2019.0,175,NULL,0,'[]',0,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r008',1750002010.5,'/w/a','explain','','ollama','x',1149,33,0,'0.0005860',586000000,NULL,NULL,NULL,3510.0,188,NULL,0,'[]',0,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r009',1750002107.5,'/w/a','document','','anthropic','claude-3-5-haiku-latest',2469,19,0,'0.0007420',742000000,NULL,NULL,NULL,241.0,126,NULL,0,'[]',0,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r010',1750002204.5,'/w/a','explain','','ollama','x',3195,261,0,'0.0007573',757300000,NULL,NULL,NULL,1460.0,168,NULL,0,'[]',0,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r011',1750002301.5,'/w/a','fix','','ollama','x',3165,386,0,'0.0004848',484800000,NULL,NULL,NULL,200.0,122,NULL,0,'["openai/gpt-4o-mini"]',1,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r012',1750002398.5,'/w/a','explain','','anthropic','claude-3-5-haiku-latest',1495,0,0,'0.0008404',840400000,NULL,NULL,NULL,2551.0,181,NULL,0,'[]',0,'error','ServerError',0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r013',1750002495.5,'/w/a','fix','','openai','gpt-4o-mini',1397,323,0,'0.0002908',290800000,NULL,NULL,NULL,3321.0,187,NULL,0,'["anthropic/claude-3-5-haiku-latest", "ollama/x"]',2,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r014',1750002592.5,'/w/a','document','','openai','gpt-4o-mini',761,59,0,'0.0001327',132700000,NULL,NULL,NULL,2510.0,180,NULL,0,'[]',0,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r015',1750002689.5,'/w/a','explain','','ollama','x',3133,0,0,'0.0005634',563400000,NULL,NULL,NULL,3434.0,187,NULL,0,'[]',0,'error','ServerError',0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r016',1750002786.5,'/w/a','fix','','anthropic','claude-3-5-haiku-latest',0,0,0,'0',0,NULL,NULL,NULL,184.0,120,NULL,1,'[]',0,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r017',1750002883.5,'/w/a','explain','','anthropic','claude-3-5-haiku-latest',791,454,0,'0.0006112',611200000,NULL,NULL,NULL,661.0,149,NULL,0,'["openai/gpt-4o-mini", "ollama/x"]',2,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r018',1750002980.5,'/w/a','explain','','openai','gpt-4o-mini',1956,0,0,'0.0002774',277400000,NULL,NULL,NULL,2188.0,177,NULL,0,'[]',0,'error','BadRequest',0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r019',1750003077.5,'/w/a','document','','anthropic','claude-3-5-haiku-latest',2025,423,0,'0.0002401',240100000,NULL,NULL,NULL,511.0,144,NULL,0,'[]',0,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r020',1750003174.5,'/w/a','document','','anthropic','claude-3-5-haiku-latest',837,0,0,'0.0001461',146100000,NULL,NULL,NULL,2064.0,176,NULL,0,'["openai/gpt-4o-mini", "ollama/x"]',2,'error','ServerError',0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r021',1750003271.5,'/w/a','document','','ollama','x',2945,0,0,'0.0000563',56300000,NULL,NULL,NULL,3161.0,186,NULL,0,'["anthropic/claude-3-5-haiku-latest", "openai/gpt-4o-mini"]',2,'error','ServerError',0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r022',1750003368.5,'/w/a','fix','','anthropic','claude-3-5-haiku-latest',3032,310,0,'0.0005572',557200000,NULL,NULL,NULL,2711.0,182,NULL,0,'["ollama/x"]',1,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r023',1750003465.5,'/w/a','fix','','openai','gpt-4o-mini',0,0,0,'0',0,NULL,NULL,NULL,3219.0,186,NULL,1,'[]',0,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r024',1750003562.5,'/w/a','fix','','anthropic','claude-3-5-haiku-latest',2751,375,0,'0.0005700',570000000,NULL,NULL,NULL,1171.0,163,NULL,0,'[]',0,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r025',1750003659.5,'/w/a','explain','','ollama','x',3663,470,0,'0.0005969',596900000,NULL,NULL,NULL,3967.0,191,NULL,0,'["anthropic/claude-3-5-haiku-latest"]',1,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r026',1750003756.5,'/w/a','explain','','anthropic','claude-3-5-haiku-latest',3526,380,0,'0.0007820',782000000,NULL,NULL,NULL,1208.0,163,NULL,0,'[]',0,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r027',1750003853.5,'/w/a','fix','','ollama','x',3296,538,0,'0.0006895',689500000,NULL,NULL,NULL,1289.0,165,NULL,0,'["openai/gpt-4o-mini"]',1,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r028',1750003950.5,'/w/a','fix','','ollama','x',213,210,0,'0.0002622',262200000,NULL,NULL,NULL,2452.0,180,NULL,0,'[]',0,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r029',1750004047.5,'/w/a','fix','','anthropic','claude-3-5-haiku-latest',3042,52,0,'0.0007727',772700000,NULL,NULL,NULL,976.0,158,NULL,0,'[]',0,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r030',1750004144.5,'/w/a','document','','openai','gpt-4o-mini',0,0,0,'0',0,NULL,NULL,NULL,793.0,154,NULL,1,'[]',0,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r031',1750004241.5,'/w/a','document','','anthropic','claude-3-5-haiku-latest',0,0,0,'0',0,NULL,NULL,NULL,1488.0,168,NULL,1,'[]',0,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r032',1750004338.5,'/w/a','explain','','anthropic','claude-3-5-haiku-latest',0,0,0,'0',0,NULL,NULL,NULL,1024.0,160,NULL,1,'[]',0,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r033',1750004435.5,'/w/a','document','','ollama','x',1760,0,0,'0.0004564',456400000,NULL,NULL,NULL,3555.0,188,NULL,0,'[]',0,'error','BadRequest',0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r034',1750004532.5,'/w/a','fix','','openai','gpt-4o-mini',2613,318,0,'0.0001554',155400000,NULL,NULL,NULL,1259.0,164,NULL,0,'[]',0,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r035',1750004629.5,'/w/a','document','','ollama','x',3452,142,0,'0.0006867',686700000,NULL,NULL,NULL,1726.0,172,NULL,0,'[]',0,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r036',1750004726.5,'/w/a','explain','','ollama','x',2540,401,0,'0.0007816',781600000,NULL,NULL,NULL,3970.0,191,NULL,0,'[]',0,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r037',1750004823.5,'/w/a','fix','','openai','gpt-4o-mini',103,0,0,'0.0006257',625700000,NULL,NULL,NULL,492.0,143,NULL,0,'["anthropic/claude-3-5-haiku-latest", "ollama/x"]',2,'cancelled',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r038',1750004920.5,'/w/a','document','','anthropic','claude-3-5-haiku-latest',2678,587,0,'0.0006158',615800000,NULL,NULL,NULL,1808.0,173,NULL,0,'[]',0,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r039',1750005017.5,'/w/a','document','','anthropic','claude-3-5-haiku-latest',3001,0,0,'0.0006223',622300000,NULL,NULL,NULL,1622.0,170,NULL,0,'["ollama/x"]',1,'cancelled',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r040',1750005114.5,'/w/a','document','','openai','gpt-4o-mini',1128,435,0,'0.0000323',32300000,NULL,NULL,NULL,1357.0,166,NULL,0,'[]',0,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r041',1750005211.5,'/w/a','explain','','anthropic','claude-3-5-haiku-latest',2803,464,0,'0.0004023',402300000,NULL,NULL,NULL,1250.0,164,NULL,0,'["openai/gpt-4o-mini"]',1,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r042',1750005308.5,'/w/a','document','','openai','gpt-4o-mini',2281,0,0,'0.0004486',448600000,NULL,NULL,NULL,1047.0,160,NULL,0,'["anthropic/claude-3-5-haiku-latest"]',1,'error','BadRequest',0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r043',1750005405.5,'/w/a','fix','','openai','gpt-4o-mini',1270,310,0,'0.0008066',806600000,NULL,NULL,NULL,2540.0,180,NULL,0,'[]',0,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r044',1750005502.5,'/w/a','explain','','anthropic','claude-3-5-haiku-latest',3214,139,0,'0.0004927',492700000,NULL,NULL,NULL,1206.0,163,NULL,0,'[]',0,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r045',1750005599.5,'/w/a','document','','ollama','x',1532,0,0,'0.0005916',591600000,NULL,NULL,NULL,2842.0,183,NULL,0,'["anthropic/claude-3-5-haiku-latest", "openai/gpt-4o-mini"]',2,'error','ContentFiltered',0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r046',1750005696.5,'/w/a','fix','','openai','gpt-4o-mini',2334,205,0,'0.0000239',23900000,NULL,NULL,NULL,1809.0,173,NULL,0,'["anthropic/claude-3-5-haiku-latest"]',1,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r047',1750005793.5,'/w/a','document','','anthropic','claude-3-5-haiku-latest',1705,211,0,'0.0004858',485800000,NULL,NULL,NULL,1954.0,174,NULL,0,'["ollama/x"]',1,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r048',1750005890.5,'/w/a','document','','openai','gpt-4o-mini',0,0,0,'0',0,NULL,NULL,NULL,2434.0,179,NULL,1,'[]',0,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r049',1750005987.5,'/w/a','explain','','anthropic','claude-3-5-haiku-latest',777,499,0,'0.0008997',899700000,NULL,NULL,NULL,3690.0,189,NULL,0,'[]',0,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r050',1750006084.5,'/w/a','fix','','anthropic','claude-3-5-haiku-latest',2317,0,0,'0.0000796',79600000,NULL,NULL,NULL,330.0,133,NULL,0,'["openai/gpt-4o-mini", "ollama/x"]',2,'cancelled',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r051',1750006181.5,'/w/a','fix','','ollama','x',3959,36,0,'0.0005457',545700000,NULL,NULL,NULL,3009.0,184,NULL,0,'[]',0,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r052',1750006278.5,'/w/a','explain','','anthropic','claude-3-5-haiku-latest',605,0,0,'0.0002005',200500000,NULL,NULL,NULL,947.0,158,NULL,0,'["ollama/x"]',1,'cancelled',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r053',1750006375.5,'/w/a','document','','ollama','x',2990,458,0,'0.0002454',245400000,NULL,NULL,NULL,799.0,154,NULL,0,'[]',0,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r054',1750006472.5,'/w/a','fix','','ollama','x',973,54,0,'0.0001773',177300000,NULL,NULL,NULL,2754.0,182,NULL,0,'[]',0,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r055',1750006569.5,'/w/a','explain','','anthropic','claude-3-5-haiku-latest',2439,0,0,'0.0001940',194000000,NULL,NULL,NULL,3090.0,185,NULL,0,'[]',0,'error','BadRequest',0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r056',1750006666.5,'/w/a','fix','','ollama','x',2558,511,0,'0.0008022',802200000,NULL,NULL,NULL,1497.0,168,NULL,0,'[]',0,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r057',1750006763.5,'/w/a','fix','','ollama','x',0,0,0,'0',0,NULL,NULL,NULL,1257.0,164,NULL,1,'[]',0,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r058',1750006860.5,'/w/a','fix','','openai','gpt-4o-mini',2352,235,0,'0.0004314',431400000,NULL,NULL,NULL,308.0,132,NULL,0,'[]',0,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r059',1750006957.5,'/w/a','fix','','ollama','x',647,250,0,'0.0006082',608200000,NULL,NULL,NULL,1906.0,174,NULL,0,'[]',0,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r060',1750007054.5,'/w/a','explain','','ollama','x',0,0,0,'0',0,NULL,NULL,NULL,2732.0,182,NULL,1,'[]',0,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r061',1750007151.5,'/w/a','explain','','anthropic','claude-3-5-haiku-latest',2174,474,0,'0.0003909',390900000,NULL,NULL,NULL,1646.0,170,NULL,0,'[]',0,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r062',1750007248.5,'/w/a','explain','','anthropic','claude-3-5-haiku-latest',3574,164,0,'0.0007035',703500000,NULL,NULL,NULL,2839.0,183,NULL,0,'["openai/gpt-4o-mini", "ollama/x"]',2,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r063',1750007345.5,'/w/a','fix','','openai','gpt-4o-mini',2112,0,0,'0.0003466',346600000,NULL,NULL,NULL,622.0,148,NULL,0,'[]',0,'error','ContentFiltered',0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r064',1750007442.5,'/w/a','fix','','anthropic','claude-3-5-haiku-latest',2989,367,0,'0.0006321',632100000,NULL,NULL,NULL,1598.0,170,NULL,0,'[]',0,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r065',1750007539.5,'/w/a','fix','','openai','gpt-4o-mini',1312,0,0,'0.0007101',710100000,NULL,NULL,NULL,3987.0,191,NULL,0,'[]',0,'error','ServerError',0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r066',1750007636.5,'/w/a','fix','','ollama','x',839,415,0,'0.0001037',103700000,NULL,NULL,NULL,447.0,140,NULL,0,'[]',0,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r067',1750007733.5,'/w/a','document','','openai','gpt-4o-mini',3742,502,0,'0.0005711',571100000,NULL,NULL,NULL,51.0,91,NULL,0,'[]',0,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r068',1750007830.5,'/w/a','document','','anthropic','claude-3-5-haiku-latest',1991,112,0,'0.0003140',314000000,NULL,NULL,NULL,683.0,150,NULL,0,'["ollama/x", "openai/gpt-4o-mini"]',2,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r069',1750007927.5,'/w/a','explain','','ollama','x',2361,270,0,'0.0001807',180700000,NULL,NULL,NULL,1186.0,163,NULL,0,'["anthropic/claude-3-5-haiku-latest"]',1,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r070',1750008024.5,'/w/a','explain','','openai','gpt-4o-mini',2074,0,0,'0.0000526',52600000,NULL,NULL,NULL,1460.0,168,NULL,0,'[]',0,'error','ServerError',0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r071',1750008121.5,'/w/a','fix','','anthropic','claude-3-5-haiku-latest',1970,0,0,'0.0007729',772900000,NULL,NULL,NULL,3526.0,188,NULL,0,'[]',0,'error','Timeout',0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r072',1750008218.5,'/w/a','document','','openai','gpt-4o-mini',1959,0,0,'0.0003932',393200000,NULL,NULL,NULL,3037.0,185,NULL,0,'[]',0,'error','Timeout',0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r073',1750008315.5,'/w/a','explain','','openai','gpt-4o-mini',0,0,0,'0',0,NULL,NULL,NULL,2738.0,182,NULL,1,'[]',0,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r074',1750008412.5,'/w/a','fix','','openai','gpt-4o-mini',1377,198,0,'0.0007669',766900000,NULL,NULL,NULL,1530.0,169,NULL,0,'[]',0,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r075',1750008509.5,'/w/a','explain','','anthropic','claude-3-5-haiku-latest',819,223,0,'0.0000720',72000000,NULL,NULL,NULL,2695.0,182,NULL,0,'["openai/gpt-4o-mini"]',1,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r076',1750008606.5,'/w/a','document','','ollama','x',349,473,0,'0.0006721',672100000,NULL,NULL,NULL,745.0,152,NULL,0,'[]',0,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r077',1750008703.5,'/w/a','fix','','openai','gpt-4o-mini',391,252,0,'0.0008048',804800000,NULL,NULL,NULL,426.0,139,NULL,0,'["ollama/x", "anthropic/claude-3-5-haiku-latest"]',2,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r078',1750008800.5,'/w/a','document','','anthropic','claude-3-5-haiku-latest',1727,71,0,'0.0000785',78500000,NULL,NULL,NULL,1096.0,161,NULL,0,'[]',0,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r079',1750008897.5,'/w/a','explain','','anthropic','claude-3-5-haiku-latest',834,530,0,'0.0006593',659300000,NULL,NULL,NULL,820.0,154,NULL,0,'[]',0,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r080',1750008994.5,'/w/a','explain','','ollama','x',2319,175,0,'0.0001235',123500000,NULL,NULL,NULL,3559.0,188,NULL,0,'[]',0,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r081',1750009091.5,'/w/a','fix','','ollama','x',0,0,0,'0',0,NULL,NULL,NULL,1514.0,169,NULL,1,'[]',0,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r082',1750009188.5,'/w/a','document','','anthropic','claude-3-5-haiku-latest',2920,469,0,'0.0003670',367000000,NULL,NULL,NULL,2321.0,178,NULL,0,'["openai/gpt-4o-mini", "ollama/x"]',2,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r083',1750009285.5,'/w/a','document','','openai','gpt-4o-mini',1381,145,0,'0.0002127',212700000,NULL,NULL,NULL,2248.0,178,NULL,0,'[]',0,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r084',1750009382.5,'/w/a','document','','openai','gpt-4o-mini',351,514,0,'0.0004076',407600000,NULL,NULL,NULL,246.0,127,NULL,0,'["anthropic/claude-3-5-haiku-latest"]',1,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r085',1750009479.5,'/w/a','explain','','ollama','x',394,440,0,'0.0005144',514400000,NULL,NULL,NULL,1605.0,170,NULL,0,'[]',0,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r086',1750009576.5,'/w/a','fix','','ollama','x',215,462,0,'0.0002351',235100000,NULL,NULL,NULL,3395.0,187,NULL,0,'[]',0,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r087',1750009673.5,'/w/a','fix','','ollama','x',1851,284,0,'0.0001746',174600000,NULL,NULL,NULL,3376.0,187,NULL,0,'[]',0,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r088',1750009770.5,'/w/a','explain','','anthropic','claude-3-5-haiku-latest',662,278,0,'0.0008155',815500000,NULL,NULL,NULL,2818.0,183,NULL,0,'[]',0,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r089',1750009867.5,'/w/a','fix','','anthropic','claude-3-5-haiku-latest',0,0,0,'0',0,NULL,NULL,NULL,2332.0,179,NULL,1,'[]',0,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r090',1750009964.5,'/w/a','explain','','openai','gpt-4o-mini',0,0,0,'0',0,NULL,NULL,NULL,3435.0,187,NULL,1,'[]',0,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r091',1750010061.5,'/w/a','fix','','anthropic','claude-3-5-haiku-latest',1856,138,0,'0.0005938',593800000,NULL,NULL,NULL,874.0,156,NULL,0,'["openai/gpt-4o-mini", "ollama/x"]',2,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r092',1750010158.5,'/w/a','document','','anthropic','claude-3-5-haiku-latest',2272,185,0,'0.0002360',236000000,NULL,NULL,NULL,1877.0,173,NULL,0,'["openai/gpt-4o-mini", "ollama/x"]',2,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r093',1750010255.5,'/w/a','document','','anthropic','claude-3-5-haiku-latest',1398,0,0,'0.0007305',730500000,NULL,NULL,NULL,3797.0,190,NULL,0,'[]',0,'error','Timeout',0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r094',1750010352.5,'/w/a','fix','','anthropic','claude-3-5-haiku-latest',3935,174,0,'0.0008727',872700000,NULL,NULL,NULL,1988.0,175,NULL,0,'[]',0,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r095',1750010449.5,'/w/a','document','','anthropic','claude-3-5-haiku-latest',0,0,0,'0',0,NULL,NULL,NULL,2857.0,183,NULL,1,'[]',0,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r096',1750010546.5,'/w/a','fix','','openai','gpt-4o-mini',0,0,0,'0',0,NULL,NULL,NULL,1015.0,159,NULL,1,'[]',0,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r097',1750010643.5,'/w/a','document','','anthropic','claude-3-5-haiku-latest',2001,0,0,'0.0003533',353300000,NULL,NULL,NULL,874.0,156,NULL,0,'[]',0,'error','ServerError',0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r098',1750010740.5,'/w/a','document','','openai','gpt-4o-mini',1540,264,0,'0.0001017',101700000,NULL,NULL,NULL,2581.0,181,NULL,0,'[]',0,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r099',1750010837.5,'/w/a','explain','','anthropic','claude-3-5-haiku-latest',0,0,0,'0',0,NULL,NULL,NULL,2057.0,176,NULL,1,'[]',0,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r100',1750010934.5,'/w/a','fix','','anthropic','claude-3-5-haiku-latest',1252,214,0,'0.0005310',531000000,NULL,NULL,NULL,2004.0,175,NULL,0,'[]',0,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r101',1750011031.5,'/w/a','explain','','ollama','x',1641,20,0,'0.0001697',169700000,NULL,NULL,NULL,2146.0,177,NULL,0,'[]',0,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r102',1750011128.5,'/w/a','document','','ollama','x',2876,37,0,'0.0005114',511400000,NULL,NULL,NULL,2153.0,177,NULL,0,'["openai/gpt-4o-mini"]',1,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r103',1750011225.5,'/w/a','fix','','anthropic','claude-3-5-haiku-latest',3884,580,0,'0.0001002',100200000,NULL,NULL,NULL,2248.0,178,NULL,0,'["ollama/x"]',1,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r104',1750011322.5,'/w/a','fix','','openai','gpt-4o-mini',182,0,0,'0.0008556',855600000,NULL,NULL,NULL,897.0,156,NULL,0,'[]',0,'error','ServerError',0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r105',1750011419.5,'/w/a','document','','anthropic','claude-3-5-haiku-latest',0,0,0,'0',0,NULL,NULL,NULL,2551.0,181,NULL,1,'[]',0,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r106',1750011516.5,'/w/a','explain','','ollama','x',1224,0,0,'0.0003841',384100000,NULL,NULL,NULL,345.0,134,NULL,0,'["anthropic/claude-3-5-haiku-latest"]',1,'error','RateLimited',0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r107',1750011613.5,'/w/a','fix','','openai','gpt-4o-mini',3381,585,0,'0.0003421',342100000,NULL,NULL,NULL,2028.0,175,NULL,0,'[]',0,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r108',1750011710.5,'/w/a','document','','ollama','x',0,0,0,'0',0,NULL,NULL,NULL,3268.0,186,NULL,1,'[]',0,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r109',1750011807.5,'/w/a','explain','','ollama','x',3175,551,0,'0.0003395',339500000,NULL,NULL,NULL,3778.0,190,NULL,0,'["anthropic/claude-3-5-haiku-latest"]',1,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r110',1750011904.5,'/w/a','fix','','ollama','x',3742,576,0,'0.0006128',612800000,NULL,NULL,NULL,1069.0,161,NULL,0,'[]',0,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r111',1750012001.5,'/w/a','fix','','openai','gpt-4o-mini',419,181,0,'0.0001257',125700000,NULL,NULL,NULL,2641.0,181,NULL,0,'[]',0,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r112',1750012098.5,'/w/a','fix','','anthropic','claude-3-5-haiku-latest',356,0,0,'0.0008945',894500000,NULL,NULL,NULL,3032.0,185,NULL,0,'[]',0,'error','BadRequest',0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r113',1750012195.5,'/w/a','document','','anthropic','claude-3-5-haiku-latest',1249,96,0,'0.0005419',541900000,NULL,NULL,NULL,816.0,154,NULL,0,'["openai/gpt-4o-mini", "ollama/x"]',2,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r114',1750012292.5,'/w/a','fix','','anthropic','claude-3-5-haiku-latest',0,0,0,'0',0,NULL,NULL,NULL,2323.0,178,NULL,1,'[]',0,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r115',1750012389.5,'/w/a','fix','','ollama','x',519,348,0,'0.0001249',124900000,NULL,NULL,NULL,301.0,131,NULL,0,'[]',0,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r116',1750012486.5,'/w/a','document','','anthropic','claude-3-5-haiku-latest',875,489,0,'0.0006294',629400000,NULL,NULL,NULL,3845.0,190,NULL,0,'[]',0,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r117',1750012583.5,'/w/a','explain','','openai','gpt-4o-mini',892,0,0,'0.0002567',256700000,NULL,NULL,NULL,507.0,143,NULL,0,'["ollama/x", "anthropic/claude-3-5-haiku-latest"]',2,'error','RateLimited',0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r118',1750012680.5,'/w/a','fix','','anthropic','claude-3-5-haiku-latest',3205,461,0,'0.0005289',528900000,NULL,NULL,NULL,3393.0,187,NULL,0,'[]',0,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r119',1750012777.5,'/w/a','explain','','openai','gpt-4o-mini',3434,0,0,'0.0001057',105700000,NULL,NULL,NULL,850.0,155,NULL,0,'["anthropic/claude-3-5-haiku-latest", "ollama/x"]',2,'error','Timeout',0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r120',1750012874.5,'/w/a','explain','','anthropic','claude-3-5-haiku-latest',1751,566,0,'0.0007635',763500000,NULL,NULL,NULL,1586.0,170,NULL,0,'[]',0,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r121',1750012971.5,'/w/a','explain','','openai','gpt-4o-mini',2900,13,0,'0.0008119',811900000,NULL,NULL,NULL,1610.0,170,NULL,0,'[]',0,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r122',1750013068.5,'/w/a','document','','anthropic','claude-3-5-haiku-latest',3212,0,0,'0.0004849',484900000,NULL,NULL,NULL,114.0,109,NULL,0,'[]',0,'error','RateLimited',0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r123',1750013165.5,'/w/a','document','','anthropic','claude-3-5-haiku-latest',1665,0,0,'0.0002321',232100000,NULL,NULL,NULL,1240.0,164,NULL,0,'[]',0,'cancelled',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r124',1750013262.5,'/w/a','fix','','anthropic','claude-3-5-haiku-latest',550,313,0,'0.0006687',668700000,NULL,NULL,NULL,1430.0,167,NULL,0,'[]',0,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r125',1750013359.5,'/w/a','document','','openai','gpt-4o-mini',0,0,0,'0',0,NULL,NULL,NULL,1024.0,160,NULL,1,'[]',0,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r126',1750013456.5,'/w/a','document','','anthropic','claude-3-5-haiku-latest',0,0,0,'0',0,NULL,NULL,NULL,443.0,140,NULL,1,'[]',0,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r127',1750013553.5,'/w/a','explain','','ollama','x',1953,374,0,'0.0002114',211400000,NULL,NULL,NULL,3370.0,187,NULL,0,'["anthropic/claude-3-5-haiku-latest", "openai/gpt-4o-mini"]',2,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r128',1750013650.5,'/w/a','explain','','openai','gpt-4o-mini',187,266,0,'0.0007508',750800000,NULL,NULL,NULL,3968.0,191,NULL,0,'[]',0,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r129',1750013747.5,'/w/a','explain','','anthropic','claude-3-5-haiku-latest',995,0,0,'0.0003176',317600000,NULL,NULL,NULL,3341.0,187,NULL,0,'[]',0,'error','BadRequest',0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r130',1750013844.5,'/w/a','document','','openai','gpt-4o-mini',0,0,0,'0',0,NULL,NULL,NULL,2500.0,180,NULL,1,'[]',0,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r131',1750013941.5,'/w/a','explain','','ollama','x',0,0,0,'0',0,NULL,NULL,NULL,1658.0,171,NULL,1,'[]',0,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r132',1750014038.5,'/w/a','explain','','ollama','x',1827,433,0,'0.0007084',708400000,NULL,NULL,NULL,3799.0,190,NULL,0,'["openai/gpt-4o-mini", "anthropic/claude-3-5-haiku-latest"]',2,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r133',1750014135.5,'/w/a','document','','anthropic','claude-3-5-haiku-latest',707,320,0,'0.0003126',312600000,NULL,NULL,NULL,1779.0,172,NULL,0,'[]',0,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r134',1750014232.5,'/w/a','document','','openai','gpt-4o-mini',1826,0,0,'0.0003124',312400000,NULL,NULL,NULL,1159.0,162,NULL,0,'[]',0,'cancelled',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r135',1750014329.5,'/w/a','explain','','openai','gpt-4o-mini',3204,478,0,'0.0001261',126100000,NULL,NULL,NULL,352.0,135,NULL,0,'[]',0,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r136',1750014426.5,'/w/a','explain','','ollama','x',2754,28,0,'0.0008091',809100000,NULL,NULL,NULL,3985.0,191,NULL,0,'[]',0,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r137',1750014523.5,'/w/a','explain','','anthropic','claude-3-5-haiku-latest',0,0,0,'0',0,NULL,NULL,NULL,366.0,136,NULL,1,'[]',0,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r138',1750014620.5,'/w/a','explain','','anthropic','claude-3-5-haiku-latest',856,0,0,'0.0007030',703000000,NULL,NULL,NULL,400.0,138,NULL,0,'[]',0,'error','ServerError',0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r139',1750014717.5,'/w/a','document','','openai','gpt-4o-mini',3275,0,0,'0.0003517',351700000,NULL,NULL,NULL,672.0,150,NULL,0,'[]',0,'error','ServerError',0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r140',1750014814.5,'/w/a','explain','','ollama','x',533,0,0,'0.0006545',654500000,NULL,NULL,NULL,1585.0,170,NULL,0,'["openai/gpt-4o-mini", "anthropic/claude-3-5-haiku-latest"]',2,'error','ServerError',0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r141',1750014911.5,'/w/a','fix','','anthropic','claude-3-5-haiku-latest',675,0,0,'0.0004311',431100000,NULL,NULL,NULL,121.0,110,NULL,0,'["ollama/x", "openai/gpt-4o-mini"]',2,'error','ContentFiltered',0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r142',1750015008.5,'/w/a','explain','','openai','gpt-4o-mini',2070,0,0,'0.0000916',91600000,NULL,NULL,NULL,83.0,102,NULL,0,'[]',0,'error','RateLimited',0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r143',1750015105.5,'/w/a','explain','','openai','gpt-4o-mini',3394,522,0,'0.0003908',390800000,NULL,NULL,NULL,206.0,123,NULL,0,'["anthropic/claude-3-5-haiku-latest", "ollama/x"]',2,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r144',1750015202.5,'/w/a','fix','','ollama','x',1319,460,0,'0.0007374',737400000,NULL,NULL,NULL,470.0,142,NULL,0,'[]',0,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r145',1750015299.5,'/w/a','document','','ollama','x',1336,180,0,'0.0001268',126800000,NULL,NULL,NULL,2690.0,182,NULL,0,'["anthropic/claude-3-5-haiku-latest", "openai/gpt-4o-mini"]',2,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r146',1750015396.5,'/w/a','fix','','anthropic','claude-3-5-haiku-latest',1325,574,0,'0.0006113',611300000,NULL,NULL,NULL,3448.0,188,NULL,0,'["ollama/x", "openai/gpt-4o-mini"]',2,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r147',1750015493.5,'/w/a','fix','','anthropic','claude-3-5-haiku-latest',2413,222,0,'0.0007438',743800000,NULL,NULL,NULL,222.0,124,NULL,0,'["openai/gpt-4o-mini"]',1,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r148',1750015590.5,'/w/a','document','','openai','gpt-4o-mini',3725,0,0,'0.0002356',235600000,NULL,NULL,NULL,1582.0,170,NULL,0,'[]',0,'error','ServerError',0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r149',1750015687.5,'/w/a','fix','','anthropic','claude-3-5-haiku-latest',609,0,0,'0.0004295',429500000,NULL,NULL,NULL,1079.0,161,NULL,0,'["openai/gpt-4o-mini"]',1,'error','RateLimited',0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r150',1750015784.5,'/w/a','fix','','ollama','x',1178,459,0,'0.0002899',289900000,NULL,NULL,NULL,2482.0,180,NULL,0,'[]',0,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r151',1750015881.5,'/w/a','fix','','openai','gpt-4o-mini',605,19,0,'0.0007470',747000000,NULL,NULL,NULL,227.0,125,NULL,0,'[]',0,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r152',1750015978.5,'/w/a','explain','','ollama','x',2511,0,0,'0.0006741',674100000,NULL,NULL,NULL,531.0,144,NULL,0,'["openai/gpt-4o-mini"]',1,'error','BadRequest',0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r153',1750016075.5,'/w/a','fix','','ollama','x',362,105,0,'0.0000697',69700000,NULL,NULL,NULL,323.0,133,NULL,0,'["openai/gpt-4o-mini", "anthropic/claude-3-5-haiku-latest"]',2,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r154',1750016172.5,'/w/a','explain','','ollama','x',1759,322,0,'0.0004238',423800000,NULL,NULL,NULL,1907.0,174,NULL,0,'["openai/gpt-4o-mini", "anthropic/claude-3-5-haiku-latest"]',2,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r155',1750016269.5,'/w/a','fix','','anthropic','claude-3-5-haiku-latest',2793,519,0,'0.0007628',762800000,NULL,NULL,NULL,1609.0,170,NULL,0,'[]',0,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r156',1750016366.5,'/w/a','fix','','openai','gpt-4o-mini',940,478,0,'0.0001446',144600000,NULL,NULL,NULL,665.0,150,NULL,0,'[]',0,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r157',1750016463.5,'/w/a','fix','','anthropic','claude-3-5-haiku-latest',2222,0,0,'0.0006467',646700000,NULL,NULL,NULL,766.0,153,NULL,0,'["ollama/x"]',1,'cancelled',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r158',1750016560.5,'/w/a','explain','','openai','gpt-4o-mini',694,454,0,'0.0004389',438900000,NULL,NULL,NULL,2356.0,179,NULL,0,'["ollama/x", "anthropic/claude-3-5-haiku-latest"]',2,'ok',NULL,0,NULL,NULL,0,0);
INSERT INTO "requests" VALUES('r159',1750016657.5,'/w/a','fix','','anthropic','claude-3-5-haiku-latest',1082,182,0,'0.0006875',687500000,NULL,NULL,NULL,2312.0,178,NULL,0,'[]',0,'ok',NULL,0,NULL,NULL,0,0);
CREATE TABLE reservations (
        id TEXT PRIMARY KEY,
        request_id TEXT NOT NULL,
        amount_usd TEXT NOT NULL,
        amount_pico INTEGER NOT NULL,
        created REAL NOT NULL,
        expires REAL NOT NULL
    );
INSERT INTO "reservations" VALUES('7ab1430c4ef04619aec52e6f75f5ca1e','in-flight','0.25',250000000000,4000000000.0,4000000600.0);
CREATE TABLE rollup (
        hour INTEGER NOT NULL, workspace TEXT NOT NULL, provider TEXT NOT NULL,
        model TEXT NOT NULL, first_ts REAL NOT NULL,
        requests INTEGER NOT NULL, ok INTEGER NOT NULL, errors INTEGER NOT NULL, cancelled INTEGER NOT NULL, budget_refused INTEGER NOT NULL, cache_hits INTEGER NOT NULL, fallbacks INTEGER NOT NULL, cost_pico INTEGER NOT NULL, priced INTEGER NOT NULL, unpriced INTEGER NOT NULL, saved_pico INTEGER NOT NULL, input_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL, cache_read_tokens INTEGER NOT NULL, cache_write_tokens INTEGER NOT NULL, prompt_saved_pico INTEGER NOT NULL,
        PRIMARY KEY (hour, workspace, provider, model)
    );
INSERT INTO "rollup" VALUES(486111,'/w/a','ollama','x',1750001234.5,6,5,1,0,0,0,2,3150000000,6,0,0,14769,1116,0,0,0);
INSERT INTO "rollup" VALUES(486111,'/w/a','anthropic','claude-3-5-haiku-latest',1750001331.5,7,5,2,0,0,1,3,3248600000,7,0,0,10711,1127,0,0,0);
INSERT INTO "rollup" VALUES(486111,'/w/a','openai','gpt-4o-mini',1750001428.5,8,2,5,1,0,0,2,3195600000,8,0,0,11746,382,0,0,0);
INSERT INTO "rollup" VALUES(486112,'/w/a','ollama','x',1750003271.5,13,10,3,0,0,1,4,5891800000,13,0,0,29881,2820,0,0,0);
INSERT INTO "rollup" VALUES(486112,'/w/a','anthropic','claude-3-5-haiku-latest',1750003368.5,15,11,1,3,0,2,6,6674600000,15,0,0,31890,3017,0,0,0);
INSERT INTO "rollup" VALUES(486112,'/w/a','openai','gpt-4o-mini',1750003465.5,9,7,1,1,0,3,3,2092500000,9,0,0,9729,1268,0,0,0);
INSERT INTO "rollup" VALUES(486113,'/w/a','openai','gpt-4o-mini',1750006860.5,12,8,4,0,0,2,2,4697000000,12,0,0,17051,1846,0,0,0);
INSERT INTO "rollup" VALUES(486113,'/w/a','ollama','x',1750006957.5,10,10,0,0,0,2,1,2612300000,10,0,0,8975,2769,0,0,0);
INSERT INTO "rollup" VALUES(486113,'/w/a','anthropic','claude-3-5-haiku-latest',1750007151.5,15,13,2,0,0,1,6,7238700000,15,0,0,29121,3185,0,0,0);
INSERT INTO "rollup" VALUES(486114,'/w/a','anthropic','claude-3-5-haiku-latest',1750010449.5,11,9,2,0,0,4,2,3579200000,11,0,0,12822,1840,0,0,0);
INSERT INTO "rollup" VALUES(486114,'/w/a','openai','gpt-4o-mini',1750010546.5,7,4,3,0,0,1,2,1787500000,7,0,0,9848,1030,0,0,0);
INSERT INTO "rollup" VALUES(486114,'/w/a','ollama','x',1750011031.5,7,6,1,0,0,1,3,2142400000,7,0,0,13177,1532,0,0,0);
CREATE TABLE rollup_action (
        action TEXT NOT NULL, hour INTEGER NOT NULL, workspace TEXT NOT NULL, provider TEXT NOT NULL,
        model TEXT NOT NULL, first_ts REAL NOT NULL,
        requests INTEGER NOT NULL, ok INTEGER NOT NULL, errors INTEGER NOT NULL, cancelled INTEGER NOT NULL, budget_refused INTEGER NOT NULL, cache_hits INTEGER NOT NULL, fallbacks INTEGER NOT NULL, cost_pico INTEGER NOT NULL, priced INTEGER NOT NULL, unpriced INTEGER NOT NULL, saved_pico INTEGER NOT NULL, input_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL, cache_read_tokens INTEGER NOT NULL, cache_write_tokens INTEGER NOT NULL, prompt_saved_pico INTEGER NOT NULL,
        PRIMARY KEY (action, hour, workspace, provider, model)
    );
INSERT INTO "rollup_action" VALUES('explain',486111,'/w/a','ollama','x',1750001234.5,5,4,1,0,0,0,1,2665200000,5,0,0,11604,730,0,0,0);
INSERT INTO "rollup_action" VALUES('explain',486111,'/w/a','anthropic','claude-3-5-haiku-latest',1750001331.5,3,2,1,0,0,0,2,2120400000,3,0,0,5380,685,0,0,0);
INSERT INTO "rollup_action" VALUES('explain',486111,'/w/a','openai','gpt-4o-mini',1750001428.5,4,0,3,1,0,0,1,1853200000,4,0,0,7351,0,0,0,0);
INSERT INTO "rollup_action" VALUES('document',486111,'/w/a','openai','gpt-4o-mini',1750001622.5,3,1,2,0,0,0,0,1051600000,3,0,0,2998,59,0,0,0);
INSERT INTO "rollup_action" VALUES('document',486111,'/w/a','anthropic','claude-3-5-haiku-latest',1750002107.5,3,2,1,0,0,0,1,1128200000,3,0,0,5331,442,0,0,0);
INSERT INTO "rollup_action" VALUES('fix',486111,'/w/a','ollama','x',1750002301.5,1,1,0,0,0,0,1,484800000,1,0,0,3165,386,0,0,0);
INSERT INTO "rollup_action" VALUES('fix',486111,'/w/a','openai','gpt-4o-mini',1750002495.5,1,1,0,0,0,0,1,290800000,1,0,0,1397,323,0,0,0);
INSERT INTO "rollup_action" VALUES('fix',486111,'/w/a','anthropic','claude-3-5-haiku-latest',1750002786.5,1,1,0,0,0,1,0,0,1,0,0,0,0,0,0,0);
INSERT INTO "rollup_action" VALUES('document',486112,'/w/a','ollama','x',1750003271.5,5,2,3,0,0,0,2,2036400000,5,0,0,12679,600,0,0,0);
INSERT INTO "rollup_action" VALUES('fix',486112,'/w/a','anthropic','claude-3-5-haiku-latest',1750003368.5,4,3,0,1,0,0,2,1979500000,4,0,0,11142,737,0,0,0);
INSERT INTO "rollup_action" VALUES('fix',486112,'/w/a','openai','gpt-4o-mini',1750003465.5,5,4,0,1,0,1,2,1611600000,5,0,0,6320,833,0,0,0);
INSERT INTO "rollup_action" VALUES('explain',486112,'/w/a','ollama','x',1750003659.5,2,2,0,0,0,0,1,1378500000,2,0,0,6203,871,0,0,0);
INSERT INTO "rollup_action" VALUES('explain',486112,'/w/a','anthropic','claude-3-5-haiku-latest',1750003756.5,7,5,1,1,0,1,2,2971200000,7,0,0,13364,1482,0,0,0);
INSERT INTO "rollup_action" VALUES('fix',486112,'/w/a','ollama','x',1750003853.5,6,6,0,0,0,1,1,2476900000,6,0,0,10999,1349,0,0,0);
INSERT INTO "rollup_action" VALUES('document',486112,'/w/a','openai','gpt-4o-mini',1750004144.5,4,3,1,0,0,2,1,480900000,4,0,0,3409,435,0,0,0);
INSERT INTO "rollup_action" VALUES('document',486112,'/w/a','anthropic','claude-3-5-haiku-latest',1750004241.5,4,3,0,1,0,1,2,1723900000,4,0,0,7384,798,0,0,0);
INSERT INTO "rollup_action" VALUES('fix',486113,'/w/a','openai','gpt-4o-mini',1750006860.5,5,3,2,0,0,0,1,3059800000,5,0,0,7544,685,0,0,0);
INSERT INTO "rollup_action" VALUES('fix',486113,'/w/a','ollama','x',1750006957.5,5,5,0,0,0,1,0,1121600000,5,0,0,3552,1411,0,0,0);
INSERT INTO "rollup_action" VALUES('explain',486113,'/w/a','ollama','x',1750007054.5,4,4,0,0,0,1,1,818600000,4,0,0,5074,885,0,0,0);
INSERT INTO "rollup_action" VALUES('explain',486113,'/w/a','anthropic','claude-3-5-haiku-latest',1750007151.5,5,5,0,0,0,0,2,2641200000,5,0,0,8063,1669,0,0,0);
INSERT INTO "rollup_action" VALUES('fix',486113,'/w/a','anthropic','claude-3-5-haiku-latest',1750007442.5,5,4,1,0,0,1,1,2871500000,5,0,0,10750,679,0,0,0);
INSERT INTO "rollup_action" VALUES('document',486113,'/w/a','openai','gpt-4o-mini',1750007733.5,4,3,1,0,0,0,1,1584600000,4,0,0,7433,1161,0,0,0);
INSERT INTO "rollup_action" VALUES('document',486113,'/w/a','anthropic','claude-3-5-haiku-latest',1750007830.5,5,4,1,0,0,0,3,1726000000,5,0,0,10308,837,0,0,0);
INSERT INTO "rollup_action" VALUES('explain',486113,'/w/a','openai','gpt-4o-mini',1750008024.5,3,2,1,0,0,2,0,52600000,3,0,0,2074,0,0,0,0);
INSERT INTO "rollup_action" VALUES('document',486113,'/w/a','ollama','x',1750008606.5,1,1,0,0,0,0,0,672100000,1,0,0,349,473,0,0,0);
INSERT INTO "rollup_action" VALUES('document',486114,'/w/a','anthropic','claude-3-5-haiku-latest',1750010449.5,5,4,1,0,0,2,1,1524600000,5,0,0,4125,585,0,0,0);
INSERT INTO "rollup_action" VALUES('fix',486114,'/w/a','openai','gpt-4o-mini',1750010546.5,4,3,1,0,0,1,0,1323400000,4,0,0,3982,766,0,0,0);
INSERT INTO "rollup_action" VALUES('document',486114,'/w/a','openai','gpt-4o-mini',1750010740.5,1,1,0,0,0,0,0,101700000,1,0,0,1540,264,0,0,0);
INSERT INTO "rollup_action" VALUES('explain',486114,'/w/a','anthropic','claude-3-5-haiku-latest',1750010837.5,1,1,0,0,0,1,0,0,1,0,0,0,0,0,0,0);
INSERT INTO "rollup_action" VALUES('fix',486114,'/w/a','anthropic','claude-3-5-haiku-latest',1750010934.5,5,4,1,0,0,1,1,2054600000,5,0,0,8697,1255,0,0,0);
INSERT INTO "rollup_action" VALUES('explain',486114,'/w/a','ollama','x',1750011031.5,3,2,1,0,0,0,2,893300000,3,0,0,6040,571,0,0,0);
INSERT INTO "rollup_action" VALUES('document',486114,'/w/a','ollama','x',1750011128.5,2,2,0,0,0,1,1,511400000,2,0,0,2876,37,0,0,0);
INSERT INTO "rollup_action" VALUES('fix',486114,'/w/a','ollama','x',1750011904.5,2,2,0,0,0,0,0,737700000,2,0,0,4261,924,0,0,0);
INSERT INTO "rollup_action" VALUES('explain',486114,'/w/a','openai','gpt-4o-mini',1750012583.5,2,0,2,0,0,0,2,362400000,2,0,0,4326,0,0,0,0);
CREATE TABLE rollup_attempts (
        hour INTEGER NOT NULL, workspace TEXT NOT NULL, provider TEXT NOT NULL,
        attempts INTEGER NOT NULL, ok INTEGER NOT NULL,
        PRIMARY KEY (hour, workspace, provider)
    );
INSERT INTO "rollup_attempts" VALUES(486111,'/w/a','anthropic',9,4);
INSERT INTO "rollup_attempts" VALUES(486111,'/w/a','ollama',10,5);
INSERT INTO "rollup_attempts" VALUES(486111,'/w/a','openai',9,2);
INSERT INTO "rollup_attempts" VALUES(486112,'/w/a','anthropic',15,9);
INSERT INTO "rollup_attempts" VALUES(486112,'/w/a','ollama',16,9);
INSERT INTO "rollup_attempts" VALUES(486112,'/w/a','openai',9,4);
INSERT INTO "rollup_attempts" VALUES(486113,'/w/a','openai',15,6);
INSERT INTO "rollup_attempts" VALUES(486113,'/w/a','ollama',14,8);
INSERT INTO "rollup_attempts" VALUES(486113,'/w/a','anthropic',17,12);
INSERT INTO "rollup_attempts" VALUES(486114,'/w/a','anthropic',10,5);
INSERT INTO "rollup_attempts" VALUES(486114,'/w/a','openai',8,3);
INSERT INTO "rollup_attempts" VALUES(486114,'/w/a','ollama',10,5);
CREATE TABLE rollup_attempts_action (
        action TEXT NOT NULL, hour INTEGER NOT NULL, workspace TEXT NOT NULL, provider TEXT NOT NULL,
        attempts INTEGER NOT NULL, ok INTEGER NOT NULL,
        PRIMARY KEY (action, hour, workspace, provider)
    );
INSERT INTO "rollup_attempts_action" VALUES('explain',486111,'/w/a','anthropic',5,2);
INSERT INTO "rollup_attempts_action" VALUES('explain',486111,'/w/a','ollama',7,4);
INSERT INTO "rollup_attempts_action" VALUES('explain',486111,'/w/a','openai',4,0);
INSERT INTO "rollup_attempts_action" VALUES('document',486111,'/w/a','openai',3,1);
INSERT INTO "rollup_attempts_action" VALUES('document',486111,'/w/a','anthropic',3,2);
INSERT INTO "rollup_attempts_action" VALUES('fix',486111,'/w/a','ollama',2,1);
INSERT INTO "rollup_attempts_action" VALUES('fix',486111,'/w/a','openai',2,1);
INSERT INTO "rollup_attempts_action" VALUES('fix',486111,'/w/a','anthropic',1,0);
INSERT INTO "rollup_attempts_action" VALUES('document',486111,'/w/a','ollama',1,0);
INSERT INTO "rollup_attempts_action" VALUES('document',486112,'/w/a','anthropic',5,2);
INSERT INTO "rollup_attempts_action" VALUES('document',486112,'/w/a','ollama',5,2);
INSERT INTO "rollup_attempts_action" VALUES('document',486112,'/w/a','openai',3,1);
INSERT INTO "rollup_attempts_action" VALUES('fix',486112,'/w/a','anthropic',5,3);
INSERT INTO "rollup_attempts_action" VALUES('fix',486112,'/w/a','ollama',8,5);
INSERT INTO "rollup_attempts_action" VALUES('explain',486112,'/w/a','anthropic',5,4);
INSERT INTO "rollup_attempts_action" VALUES('explain',486112,'/w/a','ollama',3,2);
INSERT INTO "rollup_attempts_action" VALUES('fix',486112,'/w/a','openai',5,3);
INSERT INTO "rollup_attempts_action" VALUES('explain',486112,'/w/a','openai',1,0);
INSERT INTO "rollup_attempts_action" VALUES('fix',486113,'/w/a','openai',5,3);
INSERT INTO "rollup_attempts_action" VALUES('fix',486113,'/w/a','ollama',6,4);
INSERT INTO "rollup_attempts_action" VALUES('explain',486113,'/w/a','anthropic',6,5);
INSERT INTO "rollup_attempts_action" VALUES('explain',486113,'/w/a','ollama',4,3);
INSERT INTO "rollup_attempts_action" VALUES('explain',486113,'/w/a','openai',3,0);
INSERT INTO "rollup_attempts_action" VALUES('fix',486113,'/w/a','anthropic',5,3);
INSERT INTO "rollup_attempts_action" VALUES('document',486113,'/w/a','openai',7,3);
INSERT INTO "rollup_attempts_action" VALUES('document',486113,'/w/a','anthropic',6,4);
INSERT INTO "rollup_attempts_action" VALUES('document',486113,'/w/a','ollama',4,1);
INSERT INTO "rollup_attempts_action" VALUES('document',486114,'/w/a','anthropic',3,2);
INSERT INTO "rollup_attempts_action" VALUES('document',486114,'/w/a','openai',3,1);
INSERT INTO "rollup_attempts_action" VALUES('fix',486114,'/w/a','anthropic',3,3);
INSERT INTO "rollup_attempts_action" VALUES('explain',486114,'/w/a','ollama',5,2);
INSERT INTO "rollup_attempts_action" VALUES('document',486114,'/w/a','ollama',2,1);
INSERT INTO "rollup_attempts_action" VALUES('fix',486114,'/w/a','ollama',3,2);
INSERT INTO "rollup_attempts_action" VALUES('fix',486114,'/w/a','openai',3,2);
INSERT INTO "rollup_attempts_action" VALUES('explain',486114,'/w/a','anthropic',4,0);
INSERT INTO "rollup_attempts_action" VALUES('explain',486114,'/w/a','openai',2,0);
CREATE TABLE rollup_folded (id INTEGER PRIMARY KEY CHECK (id = 1), upto INTEGER NOT NULL);
INSERT INTO "rollup_folded" VALUES(1,120);
CREATE TABLE rollup_latency (
        day INTEGER NOT NULL, workspace TEXT NOT NULL, provider TEXT NOT NULL,
        model TEXT NOT NULL, latency_bucket INTEGER NOT NULL, n INTEGER NOT NULL,
        PRIMARY KEY (day, workspace, provider, model, latency_bucket)
    );
INSERT INTO "rollup_latency" VALUES(20254,'/w/a','ollama','x',144,1);
INSERT INTO "rollup_latency" VALUES(20254,'/w/a','anthropic','claude-3-5-haiku-latest',163,4);
INSERT INTO "rollup_latency" VALUES(20254,'/w/a','ollama','x',175,1);
INSERT INTO "rollup_latency" VALUES(20254,'/w/a','ollama','x',188,2);
INSERT INTO "rollup_latency" VALUES(20254,'/w/a','anthropic','claude-3-5-haiku-latest',126,1);
INSERT INTO "rollup_latency" VALUES(20254,'/w/a','ollama','x',168,2);
INSERT INTO "rollup_latency" VALUES(20254,'/w/a','ollama','x',122,1);
INSERT INTO "rollup_latency" VALUES(20254,'/w/a','openai','gpt-4o-mini',187,1);
INSERT INTO "rollup_latency" VALUES(20254,'/w/a','openai','gpt-4o-mini',180,2);
INSERT INTO "rollup_latency" VALUES(20254,'/w/a','anthropic','claude-3-5-haiku-latest',149,1);
INSERT INTO "rollup_latency" VALUES(20254,'/w/a','anthropic','claude-3-5-haiku-latest',144,1);
INSERT INTO "rollup_latency" VALUES(20254,'/w/a','anthropic','claude-3-5-haiku-latest',182,2);
INSERT INTO "rollup_latency" VALUES(20254,'/w/a','ollama','x',191,2);
INSERT INTO "rollup_latency" VALUES(20254,'/w/a','ollama','x',165,1);
INSERT INTO "rollup_latency" VALUES(20254,'/w/a','ollama','x',180,1);
INSERT INTO "rollup_latency" VALUES(20254,'/w/a','anthropic','claude-3-5-haiku-latest',158,1);
INSERT INTO "rollup_latency" VALUES(20254,'/w/a','openai','gpt-4o-mini',164,1);
INSERT INTO "rollup_latency" VALUES(20254,'/w/a','ollama','x',172,1);
INSERT INTO "rollup_latency" VALUES(20254,'/w/a','anthropic','claude-3-5-haiku-latest',173,2);
INSERT INTO "rollup_latency" VALUES(20254,'/w/a','openai','gpt-4o-mini',166,1);
INSERT INTO "rollup_latency" VALUES(20254,'/w/a','anthropic','claude-3-5-haiku-latest',164,1);
INSERT INTO "rollup_latency" VALUES(20254,'/w/a','openai','gpt-4o-mini',173,1);
INSERT INTO "rollup_latency" VALUES(20254,'/w/a','anthropic','claude-3-5-haiku-latest',174,1);
INSERT INTO "rollup_latency" VALUES(20254,'/w/a','anthropic','claude-3-5-haiku-latest',189,1);
INSERT INTO "rollup_latency" VALUES(20254,'/w/a','ollama','x',184,1);
INSERT INTO "rollup_latency" VALUES(20254,'/w/a','ollama','x',154,1);
INSERT INTO "rollup_latency" VALUES(20254,'/w/a','ollama','x',182,1);
INSERT INTO "rollup_latency" VALUES(20254,'/w/a','openai','gpt-4o-mini',132,1);
INSERT INTO "rollup_latency" VALUES(20254,'/w/a','ollama','x',174,1);
INSERT INTO "rollup_latency" VALUES(20254,'/w/a','anthropic','claude-3-5-haiku-latest',170,2);
INSERT INTO "rollup_latency" VALUES(20254,'/w/a','anthropic','claude-3-5-haiku-latest',183,2);
INSERT INTO "rollup_latency" VALUES(20254,'/w/a','ollama','x',140,1);
INSERT INTO "rollup_latency" VALUES(20254,'/w/a','openai','gpt-4o-mini',91,1);
INSERT INTO "rollup_latency" VALUES(20254,'/w/a','anthropic','claude-3-5-haiku-latest',150,1);
INSERT INTO "rollup_latency" VALUES(20254,'/w/a','ollama','x',163,1);
INSERT INTO "rollup_latency" VALUES(20254,'/w/a','openai','gpt-4o-mini',169,1);
INSERT INTO "rollup_latency" VALUES(20254,'/w/a','ollama','x',152,1);
INSERT INTO "rollup_latency" VALUES(20254,'/w/a','openai','gpt-4o-mini',139,1);
INSERT INTO "rollup_latency" VALUES(20254,'/w/a','anthropic','claude-3-5-haiku-latest',161,1);
INSERT INTO "rollup_latency" VALUES(20254,'/w/a','anthropic','claude-3-5-haiku-latest',154,2);
INSERT INTO "rollup_latency" VALUES(20254,'/w/a','anthropic','claude-3-5-haiku-latest',178,2);
INSERT INTO "rollup_latency" VALUES(20254,'/w/a','openai','gpt-4o-mini',178,1);
INSERT INTO "rollup_latency" VALUES(20254,'/w/a','openai','gpt-4o-mini',127,1);
INSERT INTO "rollup_latency" VALUES(20254,'/w/a','ollama','x',170,1);
INSERT INTO "rollup_latency" VALUES(20254,'/w/a','ollama','x',187,2);
INSERT INTO "rollup_latency" VALUES(20254,'/w/a','anthropic','claude-3-5-haiku-latest',156,1);
INSERT INTO "rollup_latency" VALUES(20254,'/w/a','anthropic','claude-3-5-haiku-latest',175,2);
INSERT INTO "rollup_latency" VALUES(20254,'/w/a','openai','gpt-4o-mini',181,2);
INSERT INTO "rollup_latency" VALUES(20254,'/w/a','ollama','x',177,2);
INSERT INTO "rollup_latency" VALUES(20254,'/w/a','openai','gpt-4o-mini',175,1);
INSERT INTO "rollup_latency" VALUES(20254,'/w/a','ollama','x',190,1);
INSERT INTO "rollup_latency" VALUES(20254,'/w/a','ollama','x',161,1);
INSERT INTO "rollup_latency" VALUES(20254,'/w/a','ollama','x',131,1);
INSERT INTO "rollup_latency" VALUES(20254,'/w/a','anthropic','claude-3-5-haiku-latest',190,1);
INSERT INTO "rollup_latency" VALUES(20254,'/w/a','anthropic','claude-3-5-haiku-latest',187,1);
CREATE TABLE rollup_latency_action (
        action TEXT NOT NULL, day INTEGER NOT NULL, workspace TEXT NOT NULL, provider TEXT NOT NULL,
        model TEXT NOT NULL, latency_bucket INTEGER NOT NULL, n INTEGER NOT NULL,
        PRIMARY KEY (action, day, workspace, provider, model, latency_bucket)
    );
INSERT INTO "rollup_latency_action" VALUES('explain',20254,'/w/a','ollama','x',144,1);
INSERT INTO "rollup_latency_action" VALUES('explain',20254,'/w/a','anthropic','claude-3-5-haiku-latest',163,3);
INSERT INTO "rollup_latency_action" VALUES('explain',20254,'/w/a','ollama','x',175,1);
INSERT INTO "rollup_latency_action" VALUES('explain',20254,'/w/a','ollama','x',188,2);
INSERT INTO "rollup_latency_action" VALUES('document',20254,'/w/a','anthropic','claude-3-5-haiku-latest',126,1);
INSERT INTO "rollup_latency_action" VALUES('explain',20254,'/w/a','ollama','x',168,1);
INSERT INTO "rollup_latency_action" VALUES('fix',20254,'/w/a','ollama','x',122,1);
INSERT INTO "rollup_latency_action" VALUES('fix',20254,'/w/a','openai','gpt-4o-mini',187,1);
INSERT INTO "rollup_latency_action" VALUES('document',20254,'/w/a','openai','gpt-4o-mini',180,1);
INSERT INTO "rollup_latency_action" VALUES('explain',20254,'/w/a','anthropic','claude-3-5-haiku-latest',149,1);
INSERT INTO "rollup_latency_action" VALUES('document',20254,'/w/a','anthropic','claude-3-5-haiku-latest',144,1);
INSERT INTO "rollup_latency_action" VALUES('fix',20254,'/w/a','anthropic','claude-3-5-haiku-latest',182,1);
INSERT INTO "rollup_latency_action" VALUES('fix',20254,'/w/a','anthropic','claude-3-5-haiku-latest',163,1);
INSERT INTO "rollup_latency_action" VALUES('explain',20254,'/w/a','ollama','x',191,2);
INSERT INTO "rollup_latency_action" VALUES('fix',20254,'/w/a','ollama','x',165,1);
INSERT INTO "rollup_latency_action" VALUES('fix',20254,'/w/a','ollama','x',180,1);
INSERT INTO "rollup_latency_action" VALUES('fix',20254,'/w/a','anthropic','claude-3-5-haiku-latest',158,1);
INSERT INTO "rollup_latency_action" VALUES('fix',20254,'/w/a','openai','gpt-4o-mini',164,1);
INSERT INTO "rollup_latency_action" VALUES('document',20254,'/w/a','ollama','x',172,1);
INSERT INTO "rollup_latency_action" VALUES('document',20254,'/w/a','anthropic','claude-3-5-haiku-latest',173,2);
INSERT INTO "rollup_latency_action" VALUES('document',20254,'/w/a','openai','gpt-4o-mini',166,1);
INSERT INTO "rollup_latency_action" VALUES('explain',20254,'/w/a','anthropic','claude-3-5-haiku-latest',164,1);
INSERT INTO "rollup_latency_action" VALUES('fix',20254,'/w/a','openai','gpt-4o-mini',180,1);
INSERT INTO "rollup_latency_action" VALUES('fix',20254,'/w/a','openai','gpt-4o-mini',173,1);
INSERT INTO "rollup_latency_action" VALUES('document',20254,'/w/a','anthropic','claude-3-5-haiku-latest',174,1);
INSERT INTO "rollup_latency_action" VALUES('explain',20254,'/w/a','anthropic','claude-3-5-haiku-latest',189,1);
INSERT INTO "rollup_latency_action" VALUES('fix',20254,'/w/a','ollama','x',184,1);
INSERT INTO "rollup_latency_action" VALUES('document',20254,'/w/a','ollama','x',154,1);
INSERT INTO "rollup_latency_action" VALUES('fix',20254,'/w/a','ollama','x',182,1);
INSERT INTO "rollup_latency_action" VALUES('fix',20254,'/w/a','ollama','x',168,1);
INSERT INTO "rollup_latency_action" VALUES('fix',20254,'/w/a','openai','gpt-4o-mini',132,1);
INSERT INTO "rollup_latency_action" VALUES('fix',20254,'/w/a','ollama','x',174,1);
INSERT INTO "rollup_latency_action" VALUES('explain',20254,'/w/a','anthropic','claude-3-5-haiku-latest',170,1);
INSERT INTO "rollup_latency_action" VALUES('explain',20254,'/w/a','anthropic','claude-3-5-haiku-latest',183,2);
INSERT INTO "rollup_latency_action" VALUES('fix',20254,'/w/a','anthropic','claude-3-5-haiku-latest',170,1);
INSERT INTO "rollup_latency_action" VALUES('fix',20254,'/w/a','ollama','x',140,1);
INSERT INTO "rollup_latency_action" VALUES('document',20254,'/w/a','openai','gpt-4o-mini',91,1);
INSERT INTO "rollup_latency_action" VALUES('document',20254,'/w/a','anthropic','claude-3-5-haiku-latest',150,1);
INSERT INTO "rollup_latency_action" VALUES('explain',20254,'/w/a','ollama','x',163,1);
INSERT INTO "rollup_latency_action" VALUES('fix',20254,'/w/a','openai','gpt-4o-mini',169,1);
INSERT INTO "rollup_latency_action" VALUES('explain',20254,'/w/a','anthropic','claude-3-5-haiku-latest',182,1);
INSERT INTO "rollup_latency_action" VALUES('document',20254,'/w/a','ollama','x',152,1);
INSERT INTO "rollup_latency_action" VALUES('fix',20254,'/w/a','openai','gpt-4o-mini',139,1);
INSERT INTO "rollup_latency_action" VALUES('document',20254,'/w/a','anthropic','claude-3-5-haiku-latest',161,1);
INSERT INTO "rollup_latency_action" VALUES('explain',20254,'/w/a','anthropic','claude-3-5-haiku-latest',154,1);
INSERT INTO "rollup_latency_action" VALUES('document',20254,'/w/a','anthropic','claude-3-5-haiku-latest',178,1);
INSERT INTO "rollup_latency_action" VALUES('document',20254,'/w/a','openai','gpt-4o-mini',178,1);
INSERT INTO "rollup_latency_action" VALUES('document',20254,'/w/a','openai','gpt-4o-mini',127,1);
INSERT INTO "rollup_latency_action" VALUES('explain',20254,'/w/a','ollama','x',170,1);
INSERT INTO "rollup_latency_action" VALUES('fix',20254,'/w/a','ollama','x',187,2);
INSERT INTO "rollup_latency_action" VALUES('fix',20254,'/w/a','anthropic','claude-3-5-haiku-latest',156,1);
INSERT INTO "rollup_latency_action" VALUES('fix',20254,'/w/a','anthropic','claude-3-5-haiku-latest',175,2);
INSERT INTO "rollup_latency_action" VALUES('document',20254,'/w/a','openai','gpt-4o-mini',181,1);
INSERT INTO "rollup_latency_action" VALUES('explain',20254,'/w/a','ollama','x',177,1);
INSERT INTO "rollup_latency_action" VALUES('document',20254,'/w/a','ollama','x',177,1);
INSERT INTO "rollup_latency_action" VALUES('fix',20254,'/w/a','anthropic','claude-3-5-haiku-latest',178,1);
INSERT INTO "rollup_latency_action" VALUES('fix',20254,'/w/a','openai','gpt-4o-mini',175,1);
INSERT INTO "rollup_latency_action" VALUES('explain',20254,'/w/a','ollama','x',190,1);
INSERT INTO "rollup_latency_action" VALUES('fix',20254,'/w/a','ollama','x',161,1);
INSERT INTO "rollup_latency_action" VALUES('fix',20254,'/w/a','openai','gpt-4o-mini',181,1);
INSERT INTO "rollup_latency_action" VALUES('document',20254,'/w/a','anthropic','claude-3-5-haiku-latest',154,1);
INSERT INTO "rollup_latency_action" VALUES('fix',20254,'/w/a','ollama','x',131,1);
INSERT INTO "rollup_latency_action" VALUES('document',20254,'/w/a','anthropic','claude-3-5-haiku-latest',190,1);
INSERT INTO "rollup_latency_action" VALUES('fix',20254,'/w/a','anthropic','claude-3-5-haiku-latest',187,1);
CREATE INDEX requests_ts ON requests (ts);
CREATE INDEX requests_latency ON requests (latency_bucket, latency_ms, ts, provider, model, workspace) WHERE outcome = 'ok' AND cached = 0;
CREATE INDEX outages_open ON outages (provider, ended);
CREATE INDEX outages_started ON outages (started, provider, ended);
CREATE TRIGGER requests_outages AFTER INSERT ON requests
    WHEN NEW.cached = 0 AND (NEW.fallback_chain <> '[]' OR NEW.outcome = 'error' OR
        (NEW.outcome = 'ok' AND EXISTS
            (SELECT 1 FROM outages AS o WHERE o.provider = NEW.provider AND o.ended IS NULL)))
    BEGIN
        INSERT INTO outages (provider, started)
        SELECT DISTINCT CASE WHEN instr(j.value, '/') > 0 THEN substr(j.value, 1, instr(j.value, '/') - 1) WHEN instr(j.value, '.') > 0 THEN substr(j.value, 1, instr(j.value, '.') - 1) ELSE j.value END, NEW.ts FROM json_each(NEW.fallback_chain) AS j
        WHERE NEW.cached = 0 AND NOT EXISTS
            (SELECT 1 FROM outages AS o WHERE o.provider = CASE WHEN instr(j.value, '/') > 0 THEN substr(j.value, 1, instr(j.value, '/') - 1) WHEN instr(j.value, '.') > 0 THEN substr(j.value, 1, instr(j.value, '.') - 1) ELSE j.value END AND o.ended IS NULL);
        INSERT INTO outages (provider, started)
        SELECT NEW.provider, NEW.ts + NEW.latency_ms / 1000.0
        WHERE (NEW.cached = 0 AND (NEW.outcome = 'ok' OR (NEW.outcome = 'error' AND COALESCE(NEW.error_type, '') NOT IN ('BadRequest', 'ContentFiltered', 'ContextTooLong', 'InvalidAnswer')))) AND NEW.outcome = 'error' AND NOT EXISTS
            (SELECT 1 FROM outages AS o WHERE o.provider = NEW.provider AND o.ended IS NULL);
        UPDATE outages SET ended = MAX(started, NEW.ts + NEW.latency_ms / 1000.0)
        WHERE provider = NEW.provider AND ended IS NULL AND NEW.outcome = 'ok' AND NEW.cached = 0;
    END;
CREATE INDEX reservations_expires ON reservations (expires);
COMMIT;
