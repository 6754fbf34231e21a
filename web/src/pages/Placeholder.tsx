export function Placeholder({ title, children }: { title: string; children: React.ReactNode }) {
  return (
    <main className="page">
      <h1>{title}</h1>
      <p>{children}</p>
    </main>
  );
}
