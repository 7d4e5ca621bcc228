// Swagger UI files embedded with `with { type: "file" }` imports: each import is the file's path
// (inside the compiled binary's virtual file system when compiled).
declare module "swagger-ui-dist/*" {
  const path: string;
  export default path;
}
