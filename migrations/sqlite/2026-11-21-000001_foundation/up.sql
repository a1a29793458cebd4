-- Foundation: users, sessions, agreements, prohibited words, audit log.

CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    member_name TEXT,
    member_name_key TEXT UNIQUE,
    email TEXT,
    email_key TEXT UNIQUE,
    phone TEXT UNIQUE,
    password_hash TEXT NOT NULL,
    contact_name TEXT NOT NULL,
    address TEXT NOT NULL,
    account_kind TEXT NOT NULL CHECK (account_kind IN ('individual', 'organization')),
    role TEXT NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin', 'moderator', 'finance')),
    status TEXT NOT NULL DEFAULT 'active',
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    last_login_at TIMESTAMP
);
CREATE INDEX users_role ON users (role);

CREATE TABLE sessions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP,
    revoked_reason TEXT,
    user_agent TEXT,
    ip TEXT
);
CREATE INDEX sessions_user ON sessions (user_id, id);

CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    session_id BIGINT NOT NULL REFERENCES sessions (id),
    created_at TIMESTAMP NOT NULL,
    spent_at TIMESTAMP
);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);

CREATE TABLE agreements (
    version INTEGER PRIMARY KEY,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    in_force_at TIMESTAMP NOT NULL,
    created_at TIMESTAMP NOT NULL,
    created_by BIGINT REFERENCES users (id)
);

CREATE TABLE agreement_acceptances (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL REFERENCES users (id),
    version INTEGER NOT NULL REFERENCES agreements (version),
    accepted_at TIMESTAMP NOT NULL,
    ip TEXT,
    UNIQUE (user_id, version)
);

CREATE TABLE prohibited_words (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    word TEXT NOT NULL UNIQUE,
    category TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    created_by BIGINT REFERENCES users (id)
);

-- Bumped in the same transaction as a change to a cached list, so every
-- server notices the change at its next read.
CREATE TABLE list_revisions (
    name TEXT PRIMARY KEY,
    revision BIGINT NOT NULL
);
INSERT INTO list_revisions (name, revision) VALUES ('prohibited_words', 1);

CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    actor_id BIGINT REFERENCES users (id),
    actor_label TEXT NOT NULL,
    action TEXT NOT NULL,
    target_type TEXT NOT NULL,
    target_id TEXT,
    reason TEXT,
    details TEXT,
    ip TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX audit_log_created ON audit_log (id);
CREATE INDEX audit_log_actor ON audit_log (actor_id, id);

-- Version 1 of the platform service agreement (seeds/platform-service-agreement.zh.txt).
INSERT INTO agreements (version, title, body, in_force_at, created_at) VALUES (1, '微工宝平台服务协议', '微工宝平台服务协议

提示：

【审慎阅读】您在申请注册流程中点击同意本协议之前，应当认真阅读本协议。请您务必审慎阅读、充分理解各条款内容，特别是免除或者限制责任的条款、法律适用和争议解决条款。免除或者限制责任的条款将以粗体下划线标识，您应重点阅读。

【签约动作】当您按照注册页面提示填写信息、阅读并同意本协议且完成全部注册程序后，即表示您已充分阅读、理解并接受本协议的全部内容，并与微工宝达成一致，成为微工宝平台“用户”。阅读本协议的过程中，如果您不同意本协议或其中任何条款约定，您应立即停止注册程序。

微工宝有权随时变更本协议并在本应用上予以公告。经修订的条款一经在本应用的公布后，立即自动生效。如您不同意相关变更，必须停止使用本应用。本协议内容包括协议正文及所有微工宝已经发布的各类规则。所有规则为本协议不可分割的一部分，与本协议正文具有同等法律效力。一旦您继续使用本应用，则表示您已接受并自愿遵守经修订后的条款。

第一条 用户资格

1. 只有符合下列条件之一的自然人或法人才能申请成为本应用用户，可以使用本应用的服务：

A、年满十八岁，并具有民事权利能力和民事行为能力的自然人；

B、无民事行为能力人或限制民事行为能力人应经过其监护人的同意；

C、根据中国法律、法规、行政规章成立并合法存在的机关、企事业单位、社团组织和其他组织。无法人资格的单位或组织不能注册为本应用用户的，其与本应用之间的协议自始无效，本应用一经发现，有权立即终止对该用户的服务，并追究其使用本应用服务的一切法律责任。

2. 本应用用户须承诺遵守法律法规、社会主义制度、国家利益、公民合法权益、公共秩序、社会道德风尚。

3. **【信息真实】**在使用微工宝平台服务时，您应当按微工宝平台页面的提示准确完整地提供您的信息（包括您的姓名及电子邮件地址、联系电话、联系地址等），以便微工宝或其他用户与您联系。您了解并同意，您有义务保持您提供信息的真实性及有效性。

4. 此外，您还需确保您不是任何国家、国际组织或者地域实施的贸易限制、制裁或其他法律、规则限制的对象，否则您可能无法正常注册及使用微工宝平台服务。

第二条 用户账号管理

1. **【会员名的合法性】**您设置的微工宝会员名不得违反国家法律法规及微工宝网规则关于会员名的管理规定，否则微工宝可回收您的微工宝会员名。微工宝会员名的回收不影响您以邮箱、手机号码登录微工宝平台并使用微工宝平台服务。用户在本应用注册的账号名称，不得有下列情形：

- (1) 违反宪法或法律法规规定的；
- (2) 危害国家安全，泄露国家秘密，颠覆国家政权，破坏国家统一的；
- (3) 损害国家荣誉和利益的，损害公共利益的；
- (4) 煽动民族仇恨、民族歧视，破坏民族团结的；
- (5) 破坏国家宗教政策，宣扬邪教和封建迷信的；
- (6) 散布谣言，扰乱社会秩序，破坏社会稳定的；
- (7) 散布淫秽、色情、赌博、暴力、凶杀、恐怖或者教唆犯罪的；
- (8) 侮辱或者诽谤他人，侵害他人合法权益的；
- (9) 含有法律、行政法规禁止的其他内容的。

2. 您应当及时更新您提供的信息，在法律有明确规定要求微工宝作为平台服务提供者必须对部分用户（如平台卖家等）的信息进行核实的情况下，微工宝将依法不时地对您的信息进行检查核实，您应当配合提供最新、真实、完整、有效的信息。

如微工宝按您最后一次提供的信息与您联系未果、您未按微工宝的要求及时提供信息、您提供的信息存在明显不实或行政司法机关核实您提供的信息无效的，您将承担因此对您自身、他人及微工宝造成的全部损失与不利后果。微工宝可向您发出询问或要求整改的通知，并要求您进行重新认证，直至中止、终止对您提供部分或全部微工宝平台服务，微工宝对此不承担责任。

3. **【账户安全保管义务】**您的账户为您自行设置并由您保管，微工宝任何时候均不会主动要求您提供您的账户密码。因此，建议您务必保管好您的账户，并确保您在每个上网时段结束时退出登录并以正确步骤离开微工宝平台。

账户因您主动泄露或因您遭受他人攻击、诈骗等行为导致的损失及后果，微工宝并不承担责任，您应通过司法、行政等救济途径向侵权行为人追偿。

【账户行为责任自负】微工宝存在过错外，您应对您账户项下的所有行为结果（包括但不限于在线签署各类协议、发布信息、购买商品及服务及披露信息等）负责。

4. 用户不得以任何形式擅自转让或授权他人使用自己在本应用的用户帐号（实名认证通过后，不能进行变更）。

由于用户账户关联用户信用信息，仅当有法律明文规定、司法裁定或经微工宝同意，并符合微工宝平台规则规定的用户账户转让流程的情况下，您可进行账户的转让。您的账户一经转让，该账户项下权利义务一并转移。除此外，您的账户不得以任何方式转让，否则微工宝平台有权追究您的违约责任，且由此产生的一切责任均由您承担。

5. **【实名认证】**作为微工宝平台经营者，为使您更好地使用微工宝平台的各项服务，保障您的账户安全，微工宝可要求您按要求及我国法律规定完成实名认证。
6. **【不活跃账户回收】**如您的账户连续六个月未登陆 APP 的，则微工宝可回收您的账户，您的账户将不能再登录微工宝平台，相应服务同时终止。

第三条 用户的权利和义务

1. 您有权根据本协议及本应用发布的相关规则，利用本应用发布需求信息、查询用户信息，在本应用社区及相关产品发布信息，参加本应用的有关活动及有权享受本应用提供的其他有关资讯及信息服务。
2. 您有义务确保在本应用上发布的需求信息真实、准确，无误导性。
3. 您在本应用上发布需求和在社区内及相关产品发布信息，不得违反国家法律、法规、行政规章的规定，不得侵犯他人知识产权或其他合法权益的信息，不得违背社会公共利益或公共道德，不得违反微工宝的相关规定。
4. 您在本应用交易中应当遵守诚实信用原则，不得以干预或操纵发布需求等不正当竞争方式扰乱网上交易秩序，不得从事与网上交易无关的不当行为。
5. 您不得违反《银行卡业务管理办法》使用银行卡，或利用信用卡套取现金（以下简称套现）；用户不得盗刷他人银行卡；用户不得明知或应知他人可能盗刷银行卡而与对方进行交易。
6. 您承诺自己在使用本应用实施的所有行为遵守法律、法规、行政规章和本应用的相关规定以及各种社会公共利益或公共道德。如有违反导致任何法律后果的发生，用户将以自己的名义独立承担相应的法律责任。
7. 您在本应用交易过程中如与其他用户因交易产生纠纷，可以请求本应用从中予以协调处理。用户如发现其他用户有违法或违反本协议的行为，可以向本应用举报。
8. 除微工宝另有规定外，您应当自行承担因交易产生的相关费用，并依法纳税。

9. 未经微工宝书面允许，您不得将本应用的任何资料以及在交易平台上所展示的任何信息作商业性利用（包括但不限于以复制、修改、翻译等形式制作衍生作品、分发或公开展示）。
10. 您不得使用以下方式登录网站或破坏网站所提供的服务：
 - A、以任何机器人软件、蜘蛛软件、爬虫软件、刷屏软件或其它自动方式访问或登录本应用；
 - B、通过任何方式对本公司内部结构造成或可能造成不合理或不合比例的重大负荷的行为；
 - C、通过任何方式干扰或试图干扰网站的正常工作或网站上进行的任何活动。
11. 用户同意接收来自本应用的信息，包括但不限于活动信息、交易信息、促销信息等。

第四条 微工宝的权利和义务

1. 本应用仅为用户提供一个信息交流平台，是雇主发布需求和服务商提供解决方案的一个交易市场，本应用对交易双方均不加以监视或控制，亦不主动介入交易的过程。
2. 本应用有义务在现有技术水平的基础上努力确保整个网上交流平台的正常运行，尽力避免服务中断或将中断时间限制在最短时间内，保证用户网上交流活动的顺利进行。
3. 应用有义务对用户在使用本应用信息平台中所遇到的与交易或注册有关的问题及反映的情况及时作出回复。
4. 本应用有权对用户的注册资料进行审查，对存在任何问题或怀疑的注册资料，本应用有权发出通知询问用户并要求用户做出解释、改正。
5. 用户因在本应用网上交易与其他用户产生纠纷的，用户将纠纷告知本应用，或本应用知悉纠纷情况的，经审核后，本应用有权通过电子邮件及电话联系向纠纷双方了解纠纷情况，并将所了解的情况通过电子邮件互相通知对方；用户通过司法机关依照法定程序要求本应用提供相关资料，本应用将积极配合并提供有关资料。
6. 因网上信息平台的特殊性，本应用不承担对所有用户的交易行为以及与交易有关的其他事项进行事先审查的义务，但如发生以下情形，本应用有权无需征得用户的同意限制用户的活动、向用户核实有关资料、发出警告通知、暂时中止、无限期中止及拒绝向该用户提供服务：
 - A、用户以非自然人名义进行认证之后认证主体自行注销或者经有权机关吊销或撤销的；
 - B、用户违反本协议或因被提及而纳入本协议的相关规则；
 - C、存在用户或其他第三方通知本应用，认为某个用户或具体交易事项存在违法或不当行为，并提供相关证据，而本应用无法联系到该用户核证或验证该用户向本应用提供的任何资料；

D、存在用户或其他第三方通知本应用，认为某个用户或具体交易事项存在违法或不当行为，并提供相关证据。本应用以普通非专业人员的知识水平标准对相关内容进行判别，可以明显认为这些内容或行为可能对他方或本应用造成财产损失或承担法律责任。

7. 根据国家法律、法规、行政规章规定、本协议的内容和本应用所掌握的事实依据，可以认定该用户存在违法或违反本协议行为以及在本应用交易平台上的其他不当行为，本应用有权无需征得用户的同意在本应用交易平台及所在网站上以网络发布形式公布该用户的违法行为，并有权随时作出删除相关信息、终止服务提供等处理。
8. 本应用依据本协议及相关规则，可以冻结、使用、先行赔付、退款、处置用户缴存并冻结在本应用账户内的资金。因违规而被封号的用户账户中的资金在按照规定进行处理后尚有余额的，该用户可申请提现。
9. 本应用有权在不通知用户的前提下，删除或采取其他限制性措施处理下列信息：包括但不限于以规避费用为目的；存在欺诈等恶意或虚假内容；与网上交易无关或不是以交易为目的；存在恶意竞价或其他试图扰乱正常交易秩序因素；违反公共利益或可能严重损害本应用和其他用户合法利益。
10. 在您使用微工宝平台服务时，微工宝有权依照《微工宝服务协议》向您收取服务费用。微工宝拥有制订及调整服务费之权利，具体服务费用以您使用微工宝服务时本网站或产品页面上所列之收费方式公告或您与微工宝达成的其他书面协议为准。除非另有说明或约定，您同意微工宝有权自您委托微工宝代收或代付的款项或您任一微工宝账户余额或者其他资产中直接扣除上述服务费用。

第四条 服务的中断和终止

1. 本应用可自行全权决定以任何理由(包括但不限于本应用认为用户已违反本协议及相关规则的字面意义和精神)终止对用户的服务，并有权在两年内保存用户在本应用的全部资料(包括但不限于用户信息、产品信息、交易信息等)。同时本应用可自行全权决定，在发出通知或不发出通知的情况下，随时停止提供全部或部分服务。服务终止后，本应用没有义务为用户保留原账户中或与之相关的任何信息，或转发任何未曾阅读或发送的信息给用户或第三方。
2. 若用户申请终止本应用服务，需经本应用审核同意，方可解除与本应用的协议关系，但本应用仍保留下列权利：
 - A、本应用有权在法律、法规、行政规章规定的时间内保留该用户的资料，包括但不限于以前的用户资料、交易记录等；
 - B、若终止服务之前，该用户在本应用交易平台上存在违法行为或违反本协议的行为，本应用仍可行使本协议所规定的权利。
3. 用户存在下列情况，本应用可以终止向该用户提供服务：
 - A、在用户违反本协议及相关规则规定时，本应用有权终止向该用户提供服务。本应用将在中断服务时通知用户。但该用户在被本应用终止提供服务后，再一次直接或间接或以他人名义注册为本应用用户的，本应用有权再次单方面终止为该用户提供服务；

B、本应用发现用户注册资料中主要内容是虚假的，本应用有权随时终止为该用户提供
服务；

C、本协议终止或更新时，用户未确认新的协议的；

D、其它本应用认为需终止服务的情况。

第六条 微工宝的责任范围

当您接受该协议时，您应当明确了解并同意：

1. 本应用不能随时预见到任何技术上的问题或其他困难。该等困难可能会导致数据损失
或其他服务中断。本应用是在现有技术基础上提供的服务。微工宝不保证以下事项：

A、本应用将符合所有用户的要求；

B、本应用不受干扰、能够及时提供、安全可靠或免于出错；

C、本服务使用权的取得结果是正确或可靠的。

2. 是否经由本应用下载或取得任何资料，由用户自行考虑、衡量并且自负风险，因下载
任何资料而导致用户电脑系统的任何损坏或资料流失，用户应负完全责任。希望用户
在使用本应用时，小心谨慎并运用常识。

3. 用户经由本应用取得的建议和资讯，无论其形式或表现，绝不构成本协议未明示规定
的任何保证。

4. **基于以下原因而造成的利润、商誉、使用、资料损失或其它无形损失，本应用不承担
任何直接、间接、附带、特别、衍生性或惩罚性赔偿（即使本应用已被告知前款赔偿
的可能性）：**

A、本应用的使用或无法使用；

B、用户的传输或资料遭到未获授权的存取或变更；

C、本应用中任何第三方之声明或行为；

D、本应用在服务交易中为用户提供交易机会，推荐交易方；

E、本应用其它相关事宜。

5. 本应用只是为用户提供一个服务交易的平台，对于用户所发布的需求的合法性、真实
性及其品质，以及用户履行交易的能力等，本应用一律不负任何担保责任。

6. 本应用提供与其它互联网上的网站或资源的链接，用户可能会因此连结至其它运营商经营的网站，但不表示本应用与这些运营商有任何关系。其它运营商经营的网站均由各经营者自行负责，不属于本应用控制及负责范围之内。对于存在或来源于此类网站或资源的任何内容、广告、物品或其它资料，本应用亦不予保证或负责。因使用或依赖任何此类网站或资源发布的或经由此类网站或资源获得的任何内容、物品或服务所产生的任何损害或损失，本应用不负任何直接或间接的责任。

第七条 知识产权

1. 本应用及本应用所使用的任何相关软件、程序、内容，包括但不限于作品、图片、档案、资料、网站构架、网站版面的安排、网页设计、经由本应用或广告商向用户呈现的广告或资讯，均由本应用或其它权利人依法享有相应的知识产权，包括但不限于著作权、商标权、专利权或其它专属权利等，受到相关法律的保护。未经本应用或权利人明示授权，用户保证不修改、出租、出借、出售、散布本应用及本应用所使用的上述任何资料和资源，或根据上述资料和资源制作成任何种类产品。
2. 本应用授予用户不可转移及非专属的使用权，使用户可以通过单机计算机使用本应用的目标代码（以下简称“软件”），但用户不得且不得允许任何第三方复制、修改、创作衍生作品、进行还原工程、反向组译，或以其它方式破译或试图破译源代码，或出售、转让“软件”或对“软件”进行再授权，或以其它方式移转“软件”之任何权利。用户同意不以任何方式修改“软件”，或使用修改后的“软件”。
3. 用户不得经由非本应用所提供的界面使用本应用。

第八条 隐私权

1. 信息使用

A、本应用不会向任何人出售或出借用户的个人或法人信息，除非事先得到用户得许可；

B、本应用亦不允许任何第三方以任何手段收集、编辑、出售或者无偿传播用户的个人或法人信息。任何用户如从事上述活动，一经发现，本应用有权立即终止与该用户的服务协议，查封其账号。

2. 信息披露

用户的个人或法人信息将在下述情况下部分或全部被披露：

A、经用户同意，向第三方披露；

B、用户在使用本应用过程中涉及到知识产权类纠纷，有他方主张权利的，本应用在审核主张方提交的资料后认为披露用户信息有助于纠纷解决的；

C、根据法律的有关规定，或者行政、司法机关的要求，向第三方或者行政、司法机关披露；

D、若用户出现违反中国有关法律或者网站规定的情况，需要向第三方披露；

E、为您提供所要求的产品和服务，而必须和第三方分享用户的个人或法人信息；

F、为保护您、我们的其他用户或我们的关联方的合法权益，我们可能将您的个人信息用于预防、发现、调查以下事项：欺诈、危害安全、违法或违反与我们或其关联方协议、政策或规则的行为；

G、在遵循隐私权保护以及其他相应的保密安全措施的前提下，允许我们将您的个人信息提供给相关合作方，让其根据我方指令处理相关信息；

H、其它本应用根据法律或者网站规定认为合适的披露。

若您不同意以上内容，请立即停止使用微工宝平台服务。

用户或者第三方申请本应用披露其他用户信息的，本应用有权视实际情况要求申请人出具申请书，申请书内容应包含申请披露的信息范围、用途及使用承诺等内容。

第九条 用户的违约及处理

1. 违约认定

发生如下情形之一的，视为您违约：

- （一）使用微工宝平台服务时违反有关法律法规规定的；
- （二）违反本协议或本协议补充协议约定的。

为适应电子商务发展和满足海量用户对高效优质服务的需求，您理解并同意，微工宝可在微工宝平台规则中约定违约认定的程序和标准。如：微工宝可依据您的用户数据与海量用户数据的关系来认定您是否构成违约；您有义务对您的数据异常现象进行充分举证和合理解释，否则将被认定为违约。

2. 违约处理措施

【信息处理】您在微工宝平台上发布的信息构成违约的，微工宝可根据相应规则立即对相应信息进行删除、屏蔽处理或对您发布的信息进行下架、监管。

【行为限制】您在微工宝平台上实施的行为，或虽未在微工宝平台上实施但对微工宝平台及其用户产生影响的行为构成违约的，微工宝可依据相应规则对您执行账户扣分、限制参加营销活动、中止向您提供部分或全部服务、划扣违约金等处理措施。如您的行为构成根本违约的，微工宝可查封您的账户，终止向您提供服务。

【处理结果公示】微工宝可将对您上述违约行为处理措施信息以及其他经国家行政或司法机关生效法律文书确认的违法信息在微工宝平台上予以公示。

3. 赔偿责任

如您的行为使微工宝遭受损失（包括自身的直接经济损失、商誉损失及对外支付的赔偿金、和解款、律师费、诉讼费等间接经济损失），您应赔偿微工宝的上述全部损失。

如您的行为使微工宝遭受第三人主张权利，微工宝可在对第三人承担金钱给付等义务后就全部损失向您追偿。

如因您的行为使得第三人遭受损失或您怠于履行调处决定、微工宝出于社会公共利益保护或消费者权益保护目的，可划扣相应款项进行支付，您同意委托微工宝使用自有资金代您支付上述款项，您应当返还该部分费用并赔偿因此造成微工宝的全部损失。

第十条 不可抗力

因不可抗力或者其他意外事件，使得本协议的履行不可能、不必要或者无意义的，双方均不承担责任。本合同所称之不可抗力意指不能预见、不能避免并不能克服的客观情况，包括但不限于战争、台风、水灾、火灾、雷击或地震、罢工、暴动、法定疾病、黑客攻击、网络病毒、电信部门技术管制、政府行为或任何其它自然或人为造成的灾难等客观情况。

第十一条 保密

用户保证在使用本应用过程中所获悉的属于微工宝及他方的且无法自公开渠道获得的文件及资料（包括但不限于商业秘密、公司计划、运营活动、财务信息、技术信息、经营信息及其他商业秘密）予以保密。未经该资料和文件的原提供方同意，用户不得向第三方泄露该商业秘密的全部或者部分内容。但法律、法规、行政规章另有规定或者双方另有约定的除外。

第十二条 交易纠纷解决方式

1、本协议及其规则的有效性、履行和与本协议及其规则效力有关的所有事宜，将受中华人民共和国法律管辖，任何争议仅适用中华人民共和国法律。

2、本应用有权受理并调处您与其他用户因交易服务产生的纠纷，同时有权单方面独立判断其他用户对您的举报及索偿是否成立，若判断索偿成立，则本应用有权划拨您已支付的担保金或交纳的保证金以及账户余额进行相应偿付。本应用没有使用自有资金进行偿付的义务，但若进行了该等支付，您应及时赔偿本应用的全部损失，否则本应用有权通过前述方式抵减相应资金或权益，如仍无法弥补损失，则本应用保留继续追偿的权利。因本应用非司法机关，您完全理解并承认，本应用对证据的鉴别能力及对纠纷的处理能力有限，受理交易纠纷完全是基于您之委托，不保证处理结果符合您的期望，本应用有权决定是否参与争议的调处。

3、凡因履行本协议及其规则发生的纠纷以及在微工宝上交易产生的所有纠纷，各方可协商解决，若协商不成的，各方一致同意提交北京仲裁委员会按其仲裁规则进行仲裁。

第十三条 完整协议

本协议由本协议条款与《微工宝交易顾问协议》、《微工宝发票开具规则》等本应用公示的各项规则组成，相关名词可互相引用参照，如有不同理解，以本协议条款为准。

您对本协议理解和认同，您即对本协议所有组成部分的内容理解并认同，一旦您使用本服务，你和本公司即受本协议所有组成部分的约束。

第十四条 微工宝对本服务协议包括基于本服务协议制定的各项规则拥有最终解释权。

第十五条 附则

在本协议中所使用的下列词语，除非另有定义，应具有以下含义：

“本应用” 在无特别说明的情况下，均指“微工宝”APP 应用。

“用户”：指具有完全民事行为能力的微工宝各项服务的使用者。

“雇主”：是指在本应用上进行发布地推需求或购买增值服务等“买”操作的用户。

“服务商”：是指在本应用上参加竞标、销售服务、出售技能等“卖”操作的用户，提供地推服务的用户。', '2026-01-01 00:00:00', '2026-01-01 00:00:00');

-- Starter prohibited-word list (ACC-4): at least one word per category, stored normalised.
INSERT INTO prohibited_words (word, category, created_at) VALUES ('反宪法', 'unconstitutional', '2026-01-01 00:00:00');
INSERT INTO prohibited_words (word, category, created_at) VALUES ('推翻宪法', 'unconstitutional', '2026-01-01 00:00:00');
INSERT INTO prohibited_words (word, category, created_at) VALUES ('违法交易', 'unconstitutional', '2026-01-01 00:00:00');
INSERT INTO prohibited_words (word, category, created_at) VALUES ('洗钱', 'unconstitutional', '2026-01-01 00:00:00');
INSERT INTO prohibited_words (word, category, created_at) VALUES ('颠覆政权', 'state_security', '2026-01-01 00:00:00');
INSERT INTO prohibited_words (word, category, created_at) VALUES ('颠覆国家', 'state_security', '2026-01-01 00:00:00');
INSERT INTO prohibited_words (word, category, created_at) VALUES ('泄露国家秘密', 'state_security', '2026-01-01 00:00:00');
INSERT INTO prohibited_words (word, category, created_at) VALUES ('分裂国家', 'state_security', '2026-01-01 00:00:00');
INSERT INTO prohibited_words (word, category, created_at) VALUES ('辱华', 'national_honour', '2026-01-01 00:00:00');
INSERT INTO prohibited_words (word, category, created_at) VALUES ('卖国贼', 'national_honour', '2026-01-01 00:00:00');
INSERT INTO prohibited_words (word, category, created_at) VALUES ('汉奸', 'national_honour', '2026-01-01 00:00:00');
INSERT INTO prohibited_words (word, category, created_at) VALUES ('民族仇恨', 'ethnic_hatred', '2026-01-01 00:00:00');
INSERT INTO prohibited_words (word, category, created_at) VALUES ('种族歧视', 'ethnic_hatred', '2026-01-01 00:00:00');
INSERT INTO prohibited_words (word, category, created_at) VALUES ('灭族', 'ethnic_hatred', '2026-01-01 00:00:00');
INSERT INTO prohibited_words (word, category, created_at) VALUES ('邪教', 'religion_cult', '2026-01-01 00:00:00');
INSERT INTO prohibited_words (word, category, created_at) VALUES ('封建迷信', 'religion_cult', '2026-01-01 00:00:00');
INSERT INTO prohibited_words (word, category, created_at) VALUES ('全能神', 'religion_cult', '2026-01-01 00:00:00');
INSERT INTO prohibited_words (word, category, created_at) VALUES ('造谣', 'rumour_disorder', '2026-01-01 00:00:00');
INSERT INTO prohibited_words (word, category, created_at) VALUES ('散布谣言', 'rumour_disorder', '2026-01-01 00:00:00');
INSERT INTO prohibited_words (word, category, created_at) VALUES ('暴乱', 'rumour_disorder', '2026-01-01 00:00:00');
INSERT INTO prohibited_words (word, category, created_at) VALUES ('赌博', 'obscenity_gambling_violence', '2026-01-01 00:00:00');
INSERT INTO prohibited_words (word, category, created_at) VALUES ('博彩', 'obscenity_gambling_violence', '2026-01-01 00:00:00');
INSERT INTO prohibited_words (word, category, created_at) VALUES ('赌场', 'obscenity_gambling_violence', '2026-01-01 00:00:00');
INSERT INTO prohibited_words (word, category, created_at) VALUES ('色情', 'obscenity_gambling_violence', '2026-01-01 00:00:00');
INSERT INTO prohibited_words (word, category, created_at) VALUES ('淫秽', 'obscenity_gambling_violence', '2026-01-01 00:00:00');
INSERT INTO prohibited_words (word, category, created_at) VALUES ('约炮', 'obscenity_gambling_violence', '2026-01-01 00:00:00');
INSERT INTO prohibited_words (word, category, created_at) VALUES ('杀人', 'obscenity_gambling_violence', '2026-01-01 00:00:00');
INSERT INTO prohibited_words (word, category, created_at) VALUES ('恐怖袭击', 'obscenity_gambling_violence', '2026-01-01 00:00:00');
INSERT INTO prohibited_words (word, category, created_at) VALUES ('casino', 'obscenity_gambling_violence', '2026-01-01 00:00:00');
INSERT INTO prohibited_words (word, category, created_at) VALUES ('porn', 'obscenity_gambling_violence', '2026-01-01 00:00:00');
INSERT INTO prohibited_words (word, category, created_at) VALUES ('gamble', 'obscenity_gambling_violence', '2026-01-01 00:00:00');
INSERT INTO prohibited_words (word, category, created_at) VALUES ('傻逼', 'insult_defamation', '2026-01-01 00:00:00');
INSERT INTO prohibited_words (word, category, created_at) VALUES ('操你', 'insult_defamation', '2026-01-01 00:00:00');
INSERT INTO prohibited_words (word, category, created_at) VALUES ('诽谤', 'insult_defamation', '2026-01-01 00:00:00');
INSERT INTO prohibited_words (word, category, created_at) VALUES ('fuck', 'insult_defamation', '2026-01-01 00:00:00');
INSERT INTO prohibited_words (word, category, created_at) VALUES ('毒品', 'other_prohibited', '2026-01-01 00:00:00');
INSERT INTO prohibited_words (word, category, created_at) VALUES ('冰毒', 'other_prohibited', '2026-01-01 00:00:00');
INSERT INTO prohibited_words (word, category, created_at) VALUES ('枪支', 'other_prohibited', '2026-01-01 00:00:00');
INSERT INTO prohibited_words (word, category, created_at) VALUES ('代开发票', 'other_prohibited', '2026-01-01 00:00:00');
