//! Property tests: encode then decode is the identity, and decoders never panic.

use proptest::prelude::*;
use vdc_core::jose::AlgorithmPolicy;
use vdc_core::time::UnixTime;
use vdc_status::{
    BitstringStatusList, MIN_BITSTRING_ENTRIES, StatusList, VerifyOptions, verify_status_list_token,
};

use crate::support::{ISSUER, NOW, signer, trust};

fn statuses(max_len: usize) -> impl Strategy<Value = (usize, Vec<(usize, u8)>)> {
    (1..max_len).prop_flat_map(|len| {
        (
            Just(len),
            prop::collection::vec((0..len, any::<u8>()), 0..64),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn token_status_list_round_trips(
        bits in prop::sample::select(vec![1u8, 2, 4, 8]),
        level in 0u32..=9,
        (len, sets) in statuses(5000),
    ) {
        let mut list = StatusList::new(len, bits).unwrap();
        prop_assert!(list.len() >= len);
        let mask = ((1u16 << bits) - 1) as u8;
        let mut expected = vec![0u8; list.len()];
        for (idx, v) in sets {
            list.set(idx, v & mask).unwrap();
            expected[idx] = v & mask;
        }
        let decoded = StatusList::decode(&list.encode(level).unwrap(), bits, list.len()).unwrap();
        prop_assert_eq!(&decoded, &list);
        for (i, v) in expected.iter().enumerate() {
            prop_assert_eq!(decoded.get(i).unwrap(), *v);
        }
        prop_assert!(decoded.get(decoded.len()).is_err());
    }

    #[test]
    fn bitstring_status_list_round_trips(
        size in 1u8..=8,
        level in 0u32..=9,
        (extra, sets) in statuses(3000),
    ) {
        let len = MIN_BITSTRING_ENTRIES + extra;
        let mut list = BitstringStatusList::new(len, size).unwrap();
        let mask = ((1u16 << size) - 1) as u8;
        let mut expected = std::collections::HashMap::new();
        for (idx, v) in sets {
            list.set(idx, v & mask).unwrap();
            expected.insert(idx, v & mask);
        }
        let decoded = BitstringStatusList::decode(&list.encode(level).unwrap(), size, len + 8).unwrap();
        prop_assert_eq!(decoded.bytes(), list.bytes());
        // Decoding sees whole bytes, so it may find a few padding entries more.
        prop_assert!(decoded.len() >= len && decoded.len() < len + 8);
        for (idx, v) in expected {
            prop_assert_eq!(decoded.get(idx).unwrap(), v);
        }
    }

    #[test]
    fn decoders_never_panic_on_arbitrary_input(
        bytes in prop::collection::vec(any::<u8>(), 0..256),
        text in "\\PC{0,300}",
        bits in prop::sample::select(vec![0u8, 1, 2, 3, 4, 8, 9]),
    ) {
        let _ = StatusList::decode(&bytes, bits, 1 << 16);
        let _ = BitstringStatusList::decode(&text, bits, 1 << 20);
        let _ = BitstringStatusList::decode(&format!("u{text}"), 1, 1 << 20);
        let key = signer(1);
        let policy = AlgorithmPolicy::default();
        let opts = VerifyOptions {
            uri: "https://issuer.example/l/1",
            expected_issuer: Some(ISSUER),
            now: UnixTime(NOW),
            skew: 60,
            policy: &policy,
            max_list_bytes: 1 << 16,
        };
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        prop_assert!(rt.block_on(verify_status_list_token(&text, &trust(&key), &opts)).is_err());
    }
}
