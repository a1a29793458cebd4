//! Every state and kind stored as text reads the same in the database, in
//! JSON and in the OpenAPI document: `as_str` (what rows hold) equals the
//! serde form (what clients see), and parsing it gives the value back.

use serde::Serialize;
use weigongbao::auth::accounts::{Role, UserStatus};
use weigongbao::conduct::Service;
use weigongbao::conduct::model::{
    AppealStatus, ComplaintStatus, DepositStatus, MeasureKind, MeasureState, MeasureStatus,
    RefundStatus, ViolationStatus,
};
use weigongbao::disputes::DisputeStatus;
use weigongbao::funds::payments::{Direction, PaymentStatus, Purpose};
use weigongbao::lifecycle::closure::ClosureStatus;
use weigongbao::marketplace::model::{AwardStatus, BidStatus, DemandStatus};
use weigongbao::platform::enums::TextEnum;
use weigongbao::verification::info_requests::InfoRequestStatus;
use weigongbao::verification::model::VerificationStatus;

fn agrees<T: TextEnum + Serialize + std::fmt::Debug>() {
    for v in T::all() {
        assert_eq!(
            serde_json::to_value(v).unwrap(),
            serde_json::Value::String(v.text().to_string()),
            "{v:?}: stored text and JSON differ"
        );
        assert_eq!(T::from_text(v.text()), Some(*v));
    }
    assert_eq!(T::from_text("no_such_state"), None);
}

#[test]
fn stored_text_json_and_parse_agree_for_every_state() {
    agrees::<Role>();
    agrees::<UserStatus>();
    agrees::<Service>();
    agrees::<AppealStatus>();
    agrees::<ComplaintStatus>();
    agrees::<DepositStatus>();
    agrees::<MeasureKind>();
    agrees::<MeasureState>();
    agrees::<MeasureStatus>();
    agrees::<RefundStatus>();
    agrees::<ViolationStatus>();
    agrees::<DisputeStatus>();
    agrees::<Direction>();
    agrees::<PaymentStatus>();
    agrees::<Purpose>();
    agrees::<ClosureStatus>();
    agrees::<AwardStatus>();
    agrees::<BidStatus>();
    agrees::<DemandStatus>();
    agrees::<InfoRequestStatus>();
    agrees::<VerificationStatus>();
}

#[test]
fn openapi_enum_values_are_the_stored_texts() {
    let doc = serde_json::to_value(weigongbao::api_doc()).unwrap();
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for (name, values) in [
        (
            "AwardStatus",
            AwardStatus::ALL
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>(),
        ),
        (
            "DepositStatus",
            DepositStatus::ALL.iter().map(|s| s.as_str()).collect(),
        ),
        ("Role", Role::ALL.iter().map(|s| s.as_str()).collect()),
    ] {
        let listed: Vec<&str> = schemas[name]["enum"]
            .as_array()
            .unwrap_or_else(|| panic!("{name} is a named enum schema"))
            .iter()
            .filter_map(|v| v.as_str())
            .collect();
        assert_eq!(listed, values, "{name}");
    }
}
