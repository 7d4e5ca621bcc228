// Bun text and file imports used to embed migrations and Swagger UI assets in the binary.
declare module "*.sql" {
  const text: string;
  export default text;
}
