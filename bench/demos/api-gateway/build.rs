// Generates the gRPC server and client (tonic-prost-build, needs protoc) and the descriptor set AllFrame's
// gRPC reflection serves.
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR")?);
    tonic_prost_build::configure()
        .file_descriptor_set_path(out.join("inventory_descriptor.bin"))
        .type_attribute(
            "inventory.v1.Item",
            "#[derive(serde::Serialize, async_graphql::SimpleObject)]",
        )
        .compile_protos(&["proto/inventory.proto"], &["proto"])?;
    Ok(())
}
