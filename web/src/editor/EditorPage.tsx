export default function EditorPage() {
  return <main className="page">Editor</main>;
}
