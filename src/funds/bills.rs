//! The channels' daily statements (对账单), read into rows (FND-7).
//!
//! - Alipay's trade detail (业务明细): GBK or UTF-8; `#` comment lines
//!   around a header row (`支付宝交易号,商户订单号,业务类型,…,订单金额（元）,…`);
//!   cells may carry a trailing tab; `业务类型` is `交易` or `退款`.
//! - WeChat Pay's trade bill (交易账单): a header row (`交易时间,…,微信订单号,
//!   商户订单号,…,交易状态,…,应结订单金额,…,订单金额,…`), data cells prefixed
//!   with a backtick, then the summary rows from `总交易单数`.
//!
//! Columns are found by their header names, so the bill types with more or
//! fewer columns read the same.

use crate::platform::channels::fen_of;

/// What the channel says of one payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillRow {
    /// The channel's transaction number.
    pub channel_reference: String,
    /// Our payment id (`out_trade_no`).
    pub out_trade_no: String,
    pub amount_fen: i64,
    /// `succeeded`, or the channel's word for anything else (`refunded`,
    /// `revoked`, …).
    pub status: String,
}

/// Why a statement could not be read (line numbers count from 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillError(pub String);

/// The statement's text: UTF-8 as given (a BOM dropped), else GBK.
pub fn decode(bytes: &[u8]) -> String {
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text.to_string(),
        Err(_) => encoding_rs::GBK.decode(bytes).0.into_owned(),
    };
    text.trim_start_matches('\u{feff}').to_string()
}

/// Splits a CSV line (double-quoted cells may hold commas and `""`).
fn cells(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cell = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cell.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => out.push(std::mem::take(&mut cell)),
            _ => cell.push(c),
        }
    }
    out.push(cell);
    out
}

fn clean(cell: &str) -> String {
    cell.trim_start_matches('\u{feff}')
        .trim()
        .trim_start_matches('`')
        .trim()
        .to_string()
}

struct Columns {
    reference: usize,
    out_trade_no: usize,
    amount: usize,
    status: usize,
    /// Where a refund row says how much went back (WeChat's 退款金额),
    /// if that is not `amount`.
    refund_amount: Option<usize>,
}

fn column(header: &[String], names: &[&str], line: usize) -> Result<usize, BillError> {
    names
        .iter()
        .find_map(|name| header.iter().position(|h| h == name))
        .ok_or_else(|| {
            BillError(format!(
                "line {line}: the header has no column {}",
                names[0]
            ))
        })
}

fn read_rows(
    text: &str,
    is_header: impl Fn(&[String]) -> bool,
    columns: impl Fn(&[String], usize) -> Result<Columns, BillError>,
    is_end: impl Fn(&str, &[String]) -> bool,
    status_of: impl Fn(&str) -> String,
) -> Result<Vec<BillRow>, BillError> {
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim_end_matches('\r')));
    let (header_line, header) = lines
        .by_ref()
        .map(|(n, l)| (n, cells(l).iter().map(|c| clean(c)).collect::<Vec<_>>()))
        .find(|(_, h)| is_header(h))
        .ok_or_else(|| BillError("no header row of this channel's statement was found".into()))?;
    let cols = columns(&header, header_line)?;
    let mut rows = Vec::new();
    for (n, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        let raw = cells(line);
        if is_end(line, &raw) {
            break;
        }
        let cell = |i: usize| raw.get(i).map(|c| clean(c)).unwrap_or_default();
        let status = status_of(&cell(cols.status));
        let amount = match cols.refund_amount {
            Some(i) if status == "refunded" => format!("-{}", cell(i).trim_start_matches('-')),
            _ => cell(cols.amount),
        };
        let amount_fen = fen_of(amount.trim_start_matches('-'))
            .map(|f| if amount.starts_with('-') { -f } else { f })
            .ok_or_else(|| BillError(format!("line {n}: the amount is not an amount")))?;
        let row = BillRow {
            channel_reference: cell(cols.reference),
            out_trade_no: cell(cols.out_trade_no),
            amount_fen,
            status,
        };
        if row.channel_reference.is_empty()
            || row.channel_reference.len() > 64
            || row.out_trade_no.len() > 64
        {
            return Err(BillError(format!("line {n}: no usable transaction number")));
        }
        rows.push(row);
    }
    Ok(rows)
}

/// Reads Alipay's trade detail statement.
pub fn alipay(text: &str) -> Result<Vec<BillRow>, BillError> {
    read_rows(
        text,
        |h| h.iter().any(|c| c == "支付宝交易号"),
        |h, line| {
            Ok(Columns {
                reference: column(h, &["支付宝交易号"], line)?,
                out_trade_no: column(h, &["商户订单号"], line)?,
                amount: column(h, &["订单金额（元）", "订单金额(元)"], line)?,
                status: column(h, &["业务类型"], line)?,
                refund_amount: None,
            })
        },
        |line, _| line.starts_with('#'),
        |kind| match kind {
            "交易" => "succeeded".into(),
            "退款" => "refunded".into(),
            other => other.to_string(),
        },
    )
}

/// Reads WeChat Pay's trade bill.
pub fn wechat(text: &str) -> Result<Vec<BillRow>, BillError> {
    read_rows(
        text,
        |h| h.first().is_some_and(|c| c == "交易时间"),
        |h, line| {
            Ok(Columns {
                reference: column(h, &["微信订单号"], line)?,
                out_trade_no: column(h, &["商户订单号"], line)?,
                amount: column(h, &["订单金额", "应结订单金额"], line)?,
                status: column(h, &["交易状态"], line)?,
                refund_amount: column(h, &["退款金额"], line).ok(),
            })
        },
        |_, cells| cells.first().is_some_and(|c| clean(c) == "总交易单数"),
        |state| match state {
            "SUCCESS" => "succeeded".into(),
            "REFUND" => "refunded".into(),
            other => other.to_lowercase(),
        },
    )
}

#[cfg(test)]
mod tests {
    use crate::funds::bills::{BillRow, alipay, decode, wechat};

    /// The layout of Alipay's 业务明细 download (cells with trailing tabs).
    const ALIPAY: &str = "#支付宝业务明细查询\n#账号：[20880211096256330156]\n#起始日期：[2019年09月16日 00:00:00]   终止日期：[2019年09月17日 00:00:00]\n#-----------------------------------------业务明细列表----------------------------------------\n支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,门店编号,门店名称,操作员,终端号,对方账户,订单金额（元）,商家实收（元）,支付宝红包（元）,集分宝（元）,支付宝优惠（元）,商家优惠（元）,券核销金额（元）,券名称,商家红包消费金额（元）,卡消费金额（元）,退款批次号/请求号,服务费（元）,分润（元）,备注\n2019091622001458860515315453\t,service_1568601259302\t,交易\t,下单测试,2019-09-16 10:55:16,2019-09-16 10:55:23,alipay_store\t,alipay_store\t,alipay\t,\t,*津水(602***@qq.com)\t,0.01,0.01,0.00,0.00,0.00,0.00,0.00,,0.00\t,0.00,\t,0.00,0.00,下单测试\n2019091622001458860515315453\t,service_1568601259302\t,退款\t,下单测试,2019-09-16 10:55:16,2019-09-16 10:56:48,alipay_store\t,alipay_store\t,alipay\t,\t,*津水(602***@qq.com)\t,-0.01,-0.01,0.00,0.00,0.00,0.00,0.00,,0.00\t,0.00,re_test_1568602607356\t,0.00,0.00,下单测试\n#-----------------------------------------业务明细列表结束------------------------------------\n#交易合计：6笔，商家实收共0.06元，商家优惠共0.00元\n#导出时间：[2019年09月17日 05:46:49]\n";

    /// The layout of WeChat Pay's trade bill (backtick-prefixed cells).
    const WECHAT: &str = "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注\n`2021-01-28 17:07:11,`wx81be3101902f7cb2,`1601959334,`0,`,`4200000925202101284997714292,`S20210128170702357723,`ofyak5qR_1wYsC99CsWA6R9MJazA,`NATIVE,`SUCCESS,`OTHERS,`CNY,`0.01,`0.00,`0,`0,`0.00,`0.00,`,`,`for testing,`cipher code,`0.00000,`1.00%,`0.01,`0.00,`\n总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额\n`1,`0.01,`0.00,`0.00,`0.00000,`0.01,`0.00\n";

    #[test]
    fn fnd7_alipay_trade_detail_is_read_from_its_documented_layout() {
        let rows = alipay(ALIPAY).unwrap();
        assert_eq!(
            rows,
            vec![
                BillRow {
                    channel_reference: "2019091622001458860515315453".into(),
                    out_trade_no: "service_1568601259302".into(),
                    amount_fen: 1,
                    status: "succeeded".into(),
                },
                BillRow {
                    channel_reference: "2019091622001458860515315453".into(),
                    out_trade_no: "service_1568601259302".into(),
                    amount_fen: -1,
                    status: "refunded".into(),
                },
            ]
        );
        // The same statement as Alipay sends it, in GBK.
        let (gbk, _, _) = encoding_rs::GBK.encode(ALIPAY);
        assert_eq!(alipay(&decode(&gbk)).unwrap(), rows);
    }

    #[test]
    fn fnd7_wechat_trade_bill_is_read_from_its_documented_layout() {
        let rows = wechat(&format!("\u{feff}{WECHAT}")).unwrap();
        assert_eq!(
            rows,
            vec![BillRow {
                channel_reference: "4200000925202101284997714292".into(),
                out_trade_no: "S20210128170702357723".into(),
                amount_fen: 1,
                status: "succeeded".into(),
            }]
        );
    }

    #[test]
    fn fnd7_a_wechat_refund_row_counts_the_refunded_amount() {
        let refund = WECHAT.replacen(
            "`SUCCESS,`OTHERS,`CNY,`0.01,`0.00,`0,`0,`0.00,",
            "`REFUND,`OTHERS,`CNY,`0.01,`0.00,`50000000001,`R1,`0.01,",
            1,
        );
        let rows = wechat(&refund).unwrap();
        assert_eq!(
            (rows[0].status.as_str(), rows[0].amount_fen),
            ("refunded", -1)
        );
    }

    #[test]
    fn fnd7_other_files_are_refused_with_a_reason() {
        assert!(wechat(ALIPAY).is_err());
        assert!(alipay(WECHAT).is_err());
        assert!(alipay("").is_err());
        let bad_amount = WECHAT.replace("`1.00%,`0.01", "`1.00%,`abc");
        assert!(wechat(&bad_amount).unwrap_err().0.contains("line 2"));
    }
}
