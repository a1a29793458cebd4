//! Points on the map (WRK-1..3): distances and the grid cells a search by
//! distance reads.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A WGS-84 point (what phones report; GCJ-02 map coordinates differ by a
/// few hundred metres in China: clients send what they received).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GeoPoint {
    /// Latitude, degrees (China: 3.8 to 53.6).
    #[schema(minimum = -90.0, maximum = 90.0)]
    pub lat: f64,
    /// Longitude, degrees (China: 73.5 to 135.1).
    #[schema(minimum = -180.0, maximum = 180.0)]
    pub lng: f64,
}

impl GeoPoint {
    /// Inside the bounding box of China's territory (a sanity bound, not
    /// a border).
    pub fn in_china(&self) -> bool {
        self.lat.is_finite()
            && self.lng.is_finite()
            && (3.8..=53.6).contains(&self.lat)
            && (73.5..=135.1).contains(&self.lng)
    }

    /// Great-circle distance in metres (haversine).
    pub fn distance_m(&self, other: &GeoPoint) -> f64 {
        const EARTH_M: f64 = 6_371_008.8;
        let (p1, p2) = (self.lat.to_radians(), other.lat.to_radians());
        let dp = p2 - p1;
        let dl = (other.lng - self.lng).to_radians();
        let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
        2.0 * EARTH_M * a.sqrt().asin()
    }

    /// The 0.1-degree grid cell holding the point.
    pub fn cell(&self) -> i64 {
        cell_of(cell_row(self.lat), cell_col(self.lng))
    }

    /// The cells a circle of `radius_km` around the point touches, and its
    /// bounding box (lat_min, lat_max, lng_min, lng_max).
    pub fn cells_within(&self, radius_km: f64) -> (Vec<i64>, [f64; 4]) {
        let dlat = radius_km / 111.0;
        let dlng = radius_km / (111.0 * self.lat.to_radians().cos().max(0.01));
        let bbox = [
            self.lat - dlat,
            self.lat + dlat,
            self.lng - dlng,
            self.lng + dlng,
        ];
        let mut cells = Vec::new();
        for row in cell_row(bbox[0])..=cell_row(bbox[1]) {
            for col in cell_col(bbox[2])..=cell_col(bbox[3]) {
                cells.push(cell_of(row, col));
            }
        }
        (cells, bbox)
    }
}

fn cell_row(lat: f64) -> i64 {
    ((lat + 90.0) * 10.0).floor() as i64
}

fn cell_col(lng: f64) -> i64 {
    ((lng + 180.0) * 10.0).floor() as i64
}

fn cell_of(row: i64, col: i64) -> i64 {
    row * 10_000 + col
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrk2_distances_and_cells() {
        let xujiahui = GeoPoint {
            lat: 31.1955,
            lng: 121.4374,
        };
        let peoples_square = GeoPoint {
            lat: 31.2304,
            lng: 121.4737,
        };
        let d = xujiahui.distance_m(&peoples_square);
        assert!((5_000.0..5_300.0).contains(&d), "{d}");
        assert!(xujiahui.in_china());
        assert!(
            !GeoPoint {
                lat: 48.85,
                lng: 2.35
            }
            .in_china()
        );
        assert!(
            !GeoPoint {
                lat: f64::NAN,
                lng: 121.0
            }
            .in_china()
        );
        let (cells, bbox) = xujiahui.cells_within(10.0);
        assert!(cells.contains(&xujiahui.cell()) && cells.contains(&peoples_square.cell()));
        assert!(cells.len() <= 16, "{}", cells.len());
        assert!(bbox[0] < 31.1955 && bbox[3] > 121.4374);
    }
}
