// Files embedded into the compiled binary with `import … with { type: "text" }`.
declare module "*.yaml" {
  const text: string;
  export default text;
}
declare module "*.ipxe" {
  const text: string;
  export default text;
}
