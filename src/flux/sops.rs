//! Objects encrypted with SOPS, as kustomize-controller decrypts them before it applies them
//! (`internal/decryptor/decryptor.go`, `DecryptResource` and `isSOPSEncryptedResource`, from
//! fluxcd/kustomize-controller): an object whose top-level `sops` map has a `mac` is decrypted
//! whole, and its `sops` map goes with the decryption. A value written `ENC[…]` is known only to
//! the cluster, so nothing here judges it: not its type, not what it names.

use crate::model::tree::Node;

/// The field SOPS keeps its metadata in, beside the object's own.
pub const METADATA_FIELD: &str = "sops";

/// The annotation that keeps kustomize-controller from decrypting an object (`IsDecryptionDisabled`,
/// its value compared without case): it is applied as written.
const DECRYPT_ANNOTATION: &str = "kustomize.toolkit.fluxcd.io/decrypt";

/// Whether kustomize-controller decrypts this object: its `sops` map has a `mac` that is not
/// empty (kyaml's `IsNilOrEmpty`: absent, null, an empty map or list), and it does not turn
/// decryption off.
pub fn is_encrypted(object: &Node) -> bool {
    let decryption_disabled = object
        .path_str(&["metadata", "annotations", DECRYPT_ANNOTATION])
        .is_some_and(|value| value.eq_ignore_ascii_case("disabled"));
    !decryption_disabled
        && object
            .get(METADATA_FIELD)
            .and_then(|metadata| metadata.get("mac"))
            .is_some_and(|mac| {
                !(mac.is_null()
                    || (mac.is_map() && mac.entries().is_empty())
                    || (mac.is_seq() && mac.items().is_empty()))
            })
}

/// A value SOPS encrypted: `ENC[AES256_GCM,data:…,iv:…,tag:…,type:str]`.
pub fn is_encrypted_value(node: &Node) -> bool {
    node.str()
        .is_some_and(|text| text.starts_with("ENC[AES256_GCM,") && text.ends_with(']'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::tree::Origin;
    use crate::scan::yaml::YamlFile;
    use crate::source::{SourceFile, Span};

    fn object(text: &str) -> Node {
        let yaml = YamlFile::parse(&SourceFile::new("a.yaml".into(), text)).unwrap();
        Node::from_yaml(&yaml, 0, yaml.documents[0])
    }

    #[test]
    fn an_object_is_decrypted_when_its_sops_map_has_a_mac() {
        let encrypted = "kind: ImageRepository\nsops:\n  mac: ENC[AES256_GCM,data:x,iv:y,tag:z,type:str]\n  version: 3.8.1\n";
        assert!(is_encrypted(&object(encrypted)));
        for clear in [
            "kind: ImageRepository\n",
            "kind: ImageRepository\nsops:\n  version: 3.8.1\n",
            "kind: ImageRepository\nsops:\n  mac:\n",
            "kind: ImageRepository\nsops:\n  mac: {}\n",
            "kind: ImageRepository\nsops: []\n",
            "kind: ImageRepository\nmetadata:\n  annotations:\n    kustomize.toolkit.fluxcd.io/decrypt: Disabled\nsops:\n  mac: x\n",
        ] {
            assert!(!is_encrypted(&object(clear)), "{clear}");
        }
    }

    #[test]
    fn encrypted_values_are_told_by_their_envelope() {
        let value = |text: &str| Node::scalar(text, Origin::new(0, Span::default()));
        assert!(is_encrypted_value(&value(
            "ENC[AES256_GCM,data:3Rk=,iv:abc=,tag:def=,type:str]"
        )));
        assert!(!is_encrypted_value(&value("ghcr.io/org/app")));
        assert!(!is_encrypted_value(&value("ENC[AES256_GCM,data:3Rk=")));
    }
}
